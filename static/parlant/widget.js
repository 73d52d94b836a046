// Parlant chat widget, v1. One tag puts a chat bubble on any page:
//   <script src="https://chat.example.com/widget/v1.js" data-agent-id="AGENT_ID"
//           data-server="https://chat.example.com" data-customer-token="ct.…" async></script>
// data-server defaults to where the script came from; without a customer token the visitor
// chats as a guest. Theme it from the host page with CSS variables, e.g.
//   #parlant-widget { --parlant-accent: #0a7; --parlant-font: Georgia, serif; }
// Text is always rendered with textContent: nothing a customer or agent writes becomes markup.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__parlantWidgetLoaded) return;
  window.__parlantWidgetLoaded = true;

  const server = (script.dataset.server || new URL(script.src).origin).replace(/\/+$/, "");
  const agentId = script.dataset.agentId || "";
  const customerToken = script.dataset.customerToken || "";
  const title = script.dataset.title || "Chat with us";
  const storageKey = `parlant-widget:v1:${server}:${agentId}`;
  const STATUS_TEXT = { acknowledged: "", processing: "Thinking…", typing: "Typing…" };
  const POLL_SECONDS = 30;

  // --- State that survives a reload -------------------------------------------------------------
  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      // A different customer token means a different customer: never reuse their session.
      if (saved && saved.customerToken === customerToken) return saved;
    } catch (error) { /* storage disabled or corrupt: start afresh */ }
    return { sessionId: null, guestToken: "", customerToken };
  }
  function saveState() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { /* private mode */ }
  }
  const state = loadState();
  const credential = () => customerToken || state.guestToken || "";

  // --- DOM (in a shadow root, so host styles and ours never collide) ----------------------------
  const host = document.createElement("div");
  host.id = "parlant-widget";
  const shadow = host.attachShadow({ mode: "open" });
  shadow.innerHTML = `
    <style>
      :host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
        font-family: var(--parlant-font, system-ui, sans-serif); color: var(--parlant-text, #1d2433); }
      button { font: inherit; cursor: pointer; }
      button:focus-visible, textarea:focus-visible { outline: 3px solid var(--parlant-focus, #9fb4ff); outline-offset: 2px; }
      .bubble { width: 56px; height: 56px; border-radius: 50%; border: 0; color: #fff;
        background: var(--parlant-accent, #3156d3); box-shadow: 0 4px 14px rgba(0,0,0,.2);
        display: grid; place-items: center; }
      .panel { position: absolute; right: 0; bottom: 70px; width: min(360px, calc(100vw - 40px));
        height: min(520px, calc(100vh - 110px)); display: flex; flex-direction: column;
        background: var(--parlant-bg, #fff); border-radius: var(--parlant-radius, 14px);
        box-shadow: 0 10px 36px rgba(0,0,0,.18); overflow: hidden; }
      .panel[hidden] { display: none; }
      header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px;
        background: var(--parlant-accent, #3156d3); color: #fff; }
      header h2 { font-size: 15px; margin: 0; }
      header button { background: none; border: 0; color: #fff; font-size: 18px; }
      .log { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex;
        flex-direction: column; gap: 8px; }
      .message { max-width: 80%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap;
        overflow-wrap: anywhere; font-size: 14px; line-height: 1.4; }
      .message .who { display: block; font-size: 11px; opacity: .7; margin-bottom: 2px; }
      .message.customer { align-self: flex-end; background: var(--parlant-customer-bubble, #dfe7ff); }
      .message.agent { align-self: flex-start; background: var(--parlant-agent-bubble, #f1f3f8); }
      .status { min-height: 18px; margin: 0 12px 4px; font-size: 12px; opacity: .75; }
      .error { color: #b3261e; }
      form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e6e8ef; }
      textarea { flex: 1; resize: none; font: inherit; font-size: 14px; padding: 8px;
        border-radius: 8px; border: 1px solid #c9cedb; }
      form button { border: 0; border-radius: 8px; padding: 0 14px; color: #fff;
        background: var(--parlant-accent, #3156d3); }
      .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    </style>
    <div class="panel" role="dialog" aria-modal="false" hidden>
      <header><h2></h2><button type="button" class="close" aria-label="Close chat">×</button></header>
      <ol class="log" role="log" aria-live="polite" aria-label="Conversation"></ol>
      <p class="status" role="status"></p>
      <form>
        <label class="visually-hidden" for="parlant-input">Message</label>
        <textarea id="parlant-input" rows="2" maxlength="8000" placeholder="Write a message…"></textarea>
        <button type="submit" class="send">Send</button>
      </form>
    </div>
    <button type="button" class="bubble" aria-label="Open chat" aria-expanded="false">
      <svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/>
      </svg></button>`;
  const panel = shadow.querySelector(".panel");
  const bubble = shadow.querySelector(".bubble");
  const log = shadow.querySelector(".log");
  const statusLine = shadow.querySelector(".status");
  const form = shadow.querySelector("form");
  const input = shadow.querySelector("textarea");
  panel.id = "parlant-panel";
  panel.setAttribute("aria-label", title);
  bubble.setAttribute("aria-controls", panel.id);
  shadow.querySelector("h2").textContent = title;

  function setOpen(isOpen) {
    panel.hidden = !isOpen;
    bubble.setAttribute("aria-expanded", String(isOpen));
    bubble.setAttribute("aria-label", isOpen ? "Close chat" : "Open chat");
    if (isOpen) input.focus();
    else bubble.focus();
  }
  bubble.addEventListener("click", () => setOpen(panel.hidden));
  shadow.querySelector(".close").addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (key) => { if (key.key === "Escape") setOpen(false); });

  // --- Rendering --------------------------------------------------------------------------------
  const rendered = new Map();
  let nextOffset = 0;

  function showStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function showEvent(event) {
    nextOffset = Math.max(nextOffset, event.offset + 1);
    const data = event.data || {};
    if (event.kind === "status") {
      if (data.status === "error") showStatus("Something went wrong; please try again.", true);
      else showStatus(STATUS_TEXT[data.status] || "");
      return;
    }
    if (event.kind !== "message") return;
    let item = rendered.get(event.offset);
    if (!item) {
      const isCustomer = event.source === "customer" || event.source === "customer_ui";
      item = document.createElement("li");
      item.className = "message " + (isCustomer ? "customer" : "agent");
      item.dataset.offset = String(event.offset);
      item.dataset.source = event.source;
      const who = document.createElement("span");
      who.className = "who";
      const body = document.createElement("span");
      body.className = "body";
      item.append(who, body);
      rendered.set(event.offset, item);
      const later = [...log.children].find((node) => Number(node.dataset.offset) > event.offset);
      log.insertBefore(item, later || null);
      if (!isCustomer) showStatus("");
    }
    const participant = data.participant || {};
    item.querySelector(".who").textContent =
      event.source === "customer" ? "You" : participant.display_name || "Agent";
    item.querySelector(".body").textContent = data.message || "";
    log.scrollTop = log.scrollHeight;
  }

  // --- Talking to the server --------------------------------------------------------------------
  function headers() {
    const result = { "Content-Type": "application/json", Accept: "application/json" };
    if (credential()) result.Authorization = "Bearer " + credential();
    return result;
  }

  async function call(method, path, body) {
    const response = await fetch(server + path, {
      method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail) || `Request failed (${response.status})`);
      error.status = response.status;
      throw error;
    }
    return { data, response };
  }

  function forgetSession() {
    state.sessionId = null;
    state.guestToken = "";
    saveState();
    stopStreaming();
    rendered.clear();
    log.replaceChildren();
    nextOffset = 0;
  }

  async function createSession() {
    const { data, response } = await call("POST", "/sessions", { agent_id: agentId });
    state.sessionId = data.id;
    state.guestToken = response.headers.get("X-Parlant-Guest-Token") || state.guestToken;
    saveState();
    startStreaming();
  }

  let socket = null;
  let streamGeneration = 0;
  let usePolling = false;

  function stopStreaming() {
    streamGeneration += 1;
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
  }

  function startStreaming() {
    stopStreaming();
    const generation = streamGeneration;
    if (usePolling) { poll(generation); return; }
    const url = new URL(server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = `/ws/sessions/${encodeURIComponent(state.sessionId)}/events`;
    url.search = `?min_offset=${nextOffset}` + (credential() ? `&token=${encodeURIComponent(credential())}` : "");
    let hasOpened = false;
    socket = new WebSocket(url.toString());
    socket.onopen = () => { hasOpened = true; };
    socket.onmessage = (message) => {
      const payload = JSON.parse(message.data);
      if (payload.type === "event") showEvent(payload.event);
    };
    socket.onclose = () => {
      socket = null;
      if (generation !== streamGeneration) return;
      // A socket that never opened (a proxy or origin policy in the way) will not open on
      // retry either: long-poll from here on. One that dropped resumes after a short pause.
      if (!hasOpened) usePolling = true;
      setTimeout(() => { if (generation === streamGeneration) startStreaming(); }, hasOpened ? 1000 : 0);
    };
  }

  async function poll(generation) {
    while (generation === streamGeneration && state.sessionId) {
      try {
        const response = await fetch(
          `${server}/sessions/${encodeURIComponent(state.sessionId)}/events` +
            `?min_offset=${nextOffset}&wait_for_data=${POLL_SECONDS}`,
          { headers: headers() });
        if (generation !== streamGeneration) return;
        if (response.ok) (await response.json()).forEach(showEvent);
        else if (response.status === 404 || response.status === 401 || response.status === 403) {
          forgetSession();
          return;
        } else if (response.status !== 504) {
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const message = input.value;
    if (!message.trim()) return;
    input.value = "";
    try {
      if (!state.sessionId) await createSession();
      await call("POST", `/sessions/${encodeURIComponent(state.sessionId)}/events`,
        { kind: "message", source: "customer", message });
    } catch (error) {
      if (error.status === 404 || error.status === 401 || error.status === 403) forgetSession();
      input.value = message;
      showStatus(error.message, true);
    }
  });

  input.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && !key.shiftKey) {
      key.preventDefault();
      form.requestSubmit();
    }
  });

  function mount() {
    document.body.append(host);
    if (!agentId) { showStatus("This chat is not configured (data-agent-id is missing).", true); return; }
    if (state.sessionId) startStreaming();  // after a reload: the same session, its history replayed
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.ParlantWidget = { open: () => setOpen(true), close: () => setOpen(false) };
})();
