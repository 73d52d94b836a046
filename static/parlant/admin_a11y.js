// Names for two widgets Django admin builds in script, so screen readers can announce them:
// the filter_horizontal search icons (a labelled <span> needs a role) and the autocomplete
// comboboxes (labelled by their select's <label>). Watches the page, as both appear late.
(function () {
  "use strict";
  function name(root) {
    root.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
    // Tabular inlines label their fields by column headers only: name each field after its column.
    root.querySelectorAll(".tabular tbody td").forEach((cell) => {
      const table = cell.closest("table");
      const header = table && table.tHead && table.tHead.rows[0] &&
        table.tHead.rows[0].cells[cell.cellIndex];
      const column = header ? header.textContent.trim() : "";
      cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((field) => {
        if (field.getAttribute("aria-label") || (field.id && document.querySelector(`label[for="${field.id}"]`))) return;
        const text = field.name && field.name.endsWith("-DELETE") ? "Delete" : column;
        if (text) field.setAttribute("aria-label", text);
      });
    });
    // Select2's chosen-items <ul> also holds its search box: a layout, not a list, to readers.
    root.querySelectorAll("ul.select2-selection__rendered:not([role])").forEach((list) => {
      list.setAttribute("role", "none");
    });
    root.querySelectorAll("ul.select2-selection__rendered > li:not([role])").forEach((item) => {
      item.setAttribute("role", "none");
    });
    root.querySelectorAll(".select2-search__field:not([aria-label])").forEach((field) => {
      const box = field.closest(".select2-selection[aria-label]");
      if (box) field.setAttribute("aria-label", box.getAttribute("aria-label"));
    });
    root.querySelectorAll(".select2-selection[role=combobox]:not([aria-label])").forEach((box) => {
      const container = box.closest(".select2");
      const select = container && container.previousElementSibling;
      const label = select && select.id && document.querySelector(`label[for="${select.id}"]`);
      const text = label ? label.textContent.replace(/:\s*$/, "").trim()
        : (select && select.getAttribute("aria-label")) || "";
      if (!text) return;
      box.setAttribute("aria-label", text);
      box.querySelectorAll("[role=textbox], .select2-search__field").forEach((part) => {
        part.setAttribute("aria-label", text);
      });
    });
  }
  function start() {
    name(document);
    new MutationObserver(() => name(document)).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
