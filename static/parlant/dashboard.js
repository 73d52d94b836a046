// The operator dashboard: a live inbox (views, search, alerts) and a conversation workspace
// (take over / hand back, replies, saved replies, internal notes, the customer beside it).
// Everything a customer, agent or operator wrote is shown with textContent, never as HTML.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const connection = document.getElementById("connection");
  const MODE_TEXT = { auto: "Agent answers", manual: "Human answers" };
  const SOURCE_TEXT = {
    customer: "Customer", customer_ui: "Customer", ai_agent: "Agent",
    human_agent: "Operator", human_agent_on_behalf_of_ai_agent: "Operator as agent", system: "System",
  };
  const STATUS_TEXT = {
    acknowledged: "Agent received the message", processing: "Agent is thinking…",
    typing: "Agent is typing…", ready: "", cancelled: "", error: "The agent hit an error.",
  };
  const HANDOFF_TEXT = {
    waiting: () => "Handed off: waiting for a teammate",
    joined: (data) => `${(data.participant && data.participant.display_name) || "A teammate"} joined`,
    returned: () => "Handed back to the agent",
  };

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(utc) {
    return new Date(utc).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function ago(utc) {
    const seconds = Math.max(0, (Date.now() - new Date(utc).getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return new Date(utc).toLocaleDateString();
  }

  // Reconnects with a growing pause; `open` is called again for every new socket.
  function keepConnected(makeUrl, handlers) {
    let delay = 500;
    const holder = { socket: null };
    function open() {
      const socket = new WebSocket(makeUrl());
      holder.socket = socket;
      socket.onopen = () => {
        delay = 500;
        connection.textContent = "Live";
        connection.dataset.state = "live";
        if (handlers.onopen) handlers.onopen();
      };
      socket.onmessage = (message) => handlers.onmessage(JSON.parse(message.data));
      socket.onclose = (closed) => {
        holder.socket = null;
        connection.textContent = closed.code === 4403 ? "Not allowed." : "Reconnecting…";
        connection.dataset.state = "down";
        if (closed.code === 4403) return;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 8000);
      };
    }
    open();
    return holder;
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  async function sendJson(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf || csrfCookie() },
      body: JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.detail) || response.statusText);
    return data;
  }

  function csrfCookie() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // --- Alerts: a sound and (opt-in) a desktop notification when someone starts waiting -------

  const alerts = {
    sound: localStorage.getItem("parlant-inbox:sound") !== "off",
    audio: null,
    beep() {
      if (!this.sound) return;
      try {
        this.audio = this.audio || new (window.AudioContext || window.webkitAudioContext)();
        const tone = this.audio.createOscillator();
        const gain = this.audio.createGain();
        tone.frequency.value = 880;
        gain.gain.setValueAtTime(0.15, this.audio.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.001, this.audio.currentTime + 0.4);
        tone.connect(gain).connect(this.audio.destination);
        tone.start();
        tone.stop(this.audio.currentTime + 0.4);
        document.body.dataset.lastAlert = String(Date.now());
      } catch (error) { /* no audio device: the title count still tells */ }
    },
    notify(session) {
      if (!("Notification" in window) || Notification.permission !== "granted") return;
      const note = new Notification("Waiting for a human: " + session.title, {
        body: session.last_message || session.agent, tag: "parlant-" + session.id,
      });
      note.onclick = () => { window.focus(); location.href = root.dataset.sessionUrlBase + encodeURIComponent(session.id) + "/"; };
    },
  };

  // --- The inbox ----------------------------------------------------------------------------

  function sessionListPage() {
    const body = document.querySelector("#session-table tbody");
    const empty = document.getElementById("empty");
    const search = document.getElementById("search");
    const waitingCount = document.getElementById("waiting-count");
    const viewButtons = [...document.querySelectorAll(".views .view")];
    const soundToggle = document.getElementById("sound-toggle");
    const notifyToggle = document.getElementById("notify-toggle");
    const baseTitle = document.title;
    let view = new URLSearchParams(location.search).get("view") || localStorage.getItem("parlant-inbox:view") || "all";
    let pending = null;
    let knownWaiting = null;  // ids waiting at the last load; null before the first one

    function row(session) {
      const tr = element("tr");
      tr.dataset.sessionId = session.id;
      tr.className = session.is_waiting ? "waiting" : session.mode;
      const status = session.is_waiting ? "Waiting for a human" : MODE_TEXT[session.mode] || session.mode;
      const link = element("a", "", session.title);
      link.href = root.dataset.sessionUrlBase + encodeURIComponent(session.id) + "/";
      const name = element("td", "title");
      name.append(link);
      if (session.customer && session.title !== session.customer && session.customer !== "Guest") {
        name.append(element("span", "sub", session.customer));
      }
      const when = element("td", "when", ago(session.last_activity_utc));
      when.title = new Date(session.last_activity_utc).toLocaleString();
      const statusCell = element("td", "status");
      statusCell.append(element("span", "pill " + (session.is_waiting ? "waiting" : session.mode), status));
      tr.append(
        name, statusCell, element("td", "", session.agent),
        element("td", "holder", session.held_by || "—"),
        element("td", "preview", session.last_message), when,
      );
      return tr;
    }

    function showViews() {
      viewButtons.forEach((button) => button.setAttribute("aria-pressed", String(button.dataset.view === view)));
    }

    async function load() {
      const params = new URLSearchParams({ view });
      if (search.value.trim()) params.set("q", search.value.trim());
      try {
        const data = await getJson(root.dataset.sessionsUrl + "?" + params);
        body.replaceChildren(...data.sessions.map(row));
        empty.hidden = data.sessions.length > 0;
        empty.textContent = search.value.trim() ? "No conversation matches your search." : "Nothing here right now.";
        waitingCount.textContent = String(data.waiting_count);
        waitingCount.dataset.zero = String(data.waiting_count === 0);
        document.title = (data.waiting_count ? `(${data.waiting_count}) ` : "") + baseTitle;
        const waitingNow = new Set(data.sessions.filter((s) => s.is_waiting).map((s) => s.id));
        if (knownWaiting !== null) {
          const fresh = data.sessions.filter((s) => s.is_waiting && !knownWaiting.has(s.id));
          if (fresh.length) { alerts.beep(); fresh.forEach((s) => alerts.notify(s)); }
        }
        // Only a view that shows every waiting session can tell which ones are new.
        if (view === "all" || view === "waiting" || view === "unassigned") knownWaiting = waitingNow;
      } catch (error) {
        connection.textContent = "Could not load conversations: " + error.message;
      }
    }

    function loadSoon() {  // a burst of events (a streamed reply) costs one reload
      if (pending) return;
      pending = setTimeout(() => { pending = null; load(); }, 250);
    }

    viewButtons.forEach((button) => button.addEventListener("click", () => {
      view = button.dataset.view;
      localStorage.setItem("parlant-inbox:view", view);
      knownWaiting = null;
      showViews();
      load();
    }));
    let searchTimer = null;
    search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(load, 200);
    });

    function showAlertSettings() {
      soundToggle.textContent = alerts.sound ? "Sound on" : "Sound off";
      soundToggle.setAttribute("aria-pressed", String(alerts.sound));
      if (!("Notification" in window)) notifyToggle.hidden = true;
      else if (Notification.permission === "granted") { notifyToggle.textContent = "Desktop alerts on"; notifyToggle.disabled = true; }
      else if (Notification.permission === "denied") { notifyToggle.textContent = "Desktop alerts blocked"; notifyToggle.disabled = true; }
    }
    soundToggle.addEventListener("click", () => {
      alerts.sound = !alerts.sound;
      localStorage.setItem("parlant-inbox:sound", alerts.sound ? "on" : "off");
      if (alerts.sound) alerts.beep();
      showAlertSettings();
    });
    notifyToggle.addEventListener("click", async () => {
      await Notification.requestPermission();
      showAlertSettings();
    });
    showAlertSettings();
    showViews();
    setInterval(load, 60_000);  // keeps "2 min ago" honest on a quiet inbox

    keepConnected(() => socketUrl("/ws/dashboard"), { onopen: load, onmessage: loadSoon });
  }

  // --- One conversation ---------------------------------------------------------------------

  function sessionPage() {
    const sessionId = root.dataset.sessionId;
    const operatorId = root.dataset.operatorId;
    const operatorName = root.dataset.operatorName;
    const operatorAvatar = root.dataset.operatorAvatar;
    const timeline = document.getElementById("timeline");
    const modeLabel = document.getElementById("mode");
    const holder = document.getElementById("holder");
    const takeOver = document.getElementById("take-over");
    const handBack = document.getElementById("hand-back");
    const replyForm = document.getElementById("reply-form");
    const replyInput = document.getElementById("reply-input");
    const replyLabel = document.getElementById("reply-label");
    const savedReplies = document.getElementById("saved-replies");
    const explanation = document.getElementById("explanation");
    const explanationBody = document.getElementById("explanation-body");
    const explanationSummary = document.getElementById("explanation-summary");
    const notesList = document.getElementById("notes");
    const agentStatus = element("p", "agent-status");
    agentStatus.setAttribute("role", "status");
    timeline.after(agentStatus);
    const rendered = new Map();
    let nextOffset = 0;
    let customerTypingTimer = null;

    async function explain(traceId) {
      explanation.hidden = false;
      explanationBody.textContent = "Loading…";
      try {
        const data = await getJson(root.dataset.traceUrlBase + encodeURIComponent(traceId));
        explanationSummary.replaceChildren(...summaryOf(data.explanation || {}));
        explanationBody.textContent = JSON.stringify(data.trace, null, 2);
        const saveAsTest = document.getElementById("save-as-test");
        if (saveAsTest) {
          saveAsTest.href = saveAsTest.dataset.urlTemplate.replace(
            "TRACE", encodeURIComponent(traceId));
          saveAsTest.hidden = false;
        }
      } catch (error) {
        explanationSummary.replaceChildren();
        explanationBody.textContent = "No explanation recorded for this reply.";
      }
      explanation.scrollIntoView({ block: "nearest" });
    }

    // The readable part of an explanation, built with textContent only. Traces change shape as
    // the engine grows: every key is optional here.
    function summaryOf(explained) {
      const parts = [];
      const list = (value) => (Array.isArray(value) ? value : []);
      const section = (title, items) => {
        if (!items.length) return;
        parts.push(element("h3", "", title));
        const ul = element("ul");
        items.forEach((text) => ul.append(element("li", "", text)));
        parts.push(ul);
      };
      section("Guidelines followed", list(explained.matched_guidelines).map(
        (match) => `${match.guideline || match.id || "?"}${match.why ? ` (${match.why})` : ""}`));
      section("Journeys", list(explained.journeys).filter((move) => move.to || move.from).map(
        (move) => `${move.journey || "?"}: ${move.from || "start"} → ${move.to || "?"}`));
      section("Tools", list(explained.tool_calls).map((call) =>
        `${call.tool_id || call.tool || "?"}(${JSON.stringify(call.arguments || {})})` +
        (call.skipped ? `: ${call.skipped}` : "")));
      const llm = explained.llm || {};
      const facts = [];
      if (explained.guidelines_considered !== undefined) facts.push(`${explained.guidelines_considered} guideline(s) considered`);
      if (llm.calls) facts.push(`${llm.calls} LLM call(s) in ${llm.rounds || 1} round(s)`);
      if (llm.prompt_tokens) facts.push(`${llm.prompt_tokens} prompt tokens`);
      if (explained.composition && explained.composition.mode) facts.push(`composed as ${explained.composition.mode}`);
      if (facts.length) parts.push(element("p", "hint", facts.join(" · ")));
      return parts;
    }

    function placeInOrder(node, offset) {
      const later = [...timeline.children].find((other) => Number(other.dataset.offset) > offset);
      timeline.insertBefore(node, later || null);
    }

    function showEvent(event) {
      nextOffset = Math.max(nextOffset, event.offset + 1);
      const data = event.data || {};
      if (event.kind === "status") {
        const status = data.status;
        if (status in STATUS_TEXT) agentStatus.textContent = STATUS_TEXT[status];
        return;
      }
      if (event.kind === "custom" && event.source === "system" && data.handoff in HANDOFF_TEXT) {
        if (rendered.has(event.offset)) return;
        const line = element("p", "system-line", HANDOFF_TEXT[data.handoff](data));
        line.dataset.offset = String(event.offset);
        rendered.set(event.offset, line);
        placeInOrder(line, event.offset);
        timeline.scrollTop = timeline.scrollHeight;
        return;
      }
      if (event.kind !== "message") return;
      let bubble = rendered.get(event.offset);
      if (!bubble) {
        bubble = element("article", "message " + event.source);
        bubble.dataset.offset = String(event.offset);
        const meta = element("span", "meta");
        meta.append(element("span", "who"), element("time", "when"));
        bubble.append(meta, element("span", "body"));
        if (event.source === "ai_agent" && event.trace_id) {
          const why = element("button", "why link", "Why?");
          why.type = "button";
          why.addEventListener("click", () => explain(event.trace_id));
          bubble.append(why);
        }
        rendered.set(event.offset, bubble);
        placeInOrder(bubble, event.offset);
        if (event.source === "customer") agentStatus.textContent = "";
      }
      const participant = data.participant || {};
      bubble.querySelector(".who").textContent =
        (participant.display_name || SOURCE_TEXT[event.source] || event.source) +
        " · " + (SOURCE_TEXT[event.source] || event.source);
      if (event.creation_utc) bubble.querySelector(".when").textContent = clock(event.creation_utc);
      bubble.querySelector(".body").textContent = data.message || "";
      if (data.flagged && !bubble.querySelector(".flag")) {
        bubble.append(element("span", "flag", "Flagged: " + (data.tags || []).join(", ")));
      }
      timeline.scrollTop = timeline.scrollHeight;
    }

    function showSummary(summary) {
      modeLabel.textContent = MODE_TEXT[summary.mode] || summary.mode;
      modeLabel.dataset.mode = summary.mode;
      const isMine = String(summary.held_by_id) === operatorId;
      holder.textContent = summary.held_by
        ? "· held by " + (isMine ? "you" : summary.held_by)
        : summary.mode === "manual" ? "· waiting for a human" : "";
      takeOver.disabled = summary.mode === "manual" && isMine;
      handBack.disabled = summary.mode === "auto";
    }

    async function refreshSummary() {
      try {
        showSummary(await getJson(root.dataset.summaryUrl));
      } catch (error) {
        connection.textContent = "Could not read the session: " + error.message;
      }
    }

    async function setMode(mode) {
      try {
        await sendJson("PATCH", `/sessions/${encodeURIComponent(sessionId)}`, { mode });
        await refreshSummary();
      } catch (error) {
        connection.textContent = error.message;
      }
    }

    takeOver.addEventListener("click", () => setMode("manual"));
    handBack.addEventListener("click", () => setMode("auto"));

    // --- Reply or internal note
    function setCompose(mode) {
      replyForm.dataset.mode = mode;
      document.querySelectorAll(".composer-tabs .tab").forEach((tab) =>
        tab.setAttribute("aria-pressed", String(tab.dataset.compose === mode)));
      const isNote = mode === "note";
      document.getElementById("send-as-me").hidden = isNote;
      document.getElementById("send-as-agent").hidden = isNote;
      document.getElementById("add-note").hidden = !isNote;
      replyLabel.textContent = isNote ? "Internal note (only operators see it)" : "Reply to the customer";
      replyInput.placeholder = isNote ? "A note for your colleagues; the customer never sees it"
        : "Reply to the customer… (Enter sends, Shift+Enter for a new line)";
      replyInput.focus();
    }
    document.querySelectorAll(".composer-tabs .tab").forEach((tab) =>
      tab.addEventListener("click", () => setCompose(tab.dataset.compose)));

    replyForm.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const message = replyInput.value;
      if (!message.trim()) return;
      lastTypingSent = 0;  // a sent reply ends the burst: the next keystroke is news again
      const source = (submit.submitter && submit.submitter.value) ||
        (replyForm.dataset.mode === "note" ? "note" : "human_agent");
      replyInput.value = "";
      try {
        if (source === "note") {
          showNote(await sendJson("POST", root.dataset.notesUrl, { text: message }));
          return;
        }
        const body = { kind: "message", source, message };
        if (source === "human_agent") {
          body.participant = { id: operatorId, display_name: operatorName };
          if (operatorAvatar) body.participant.avatar_url = operatorAvatar;
        }
        await sendJson("POST", `/sessions/${encodeURIComponent(sessionId)}/events`, body);
      } catch (error) {
        replyInput.value = message;
        connection.textContent = error.message;
      }
    });

    let lastTypingSent = 0;
    replyInput.addEventListener("input", () => {
      const socket = live && live.socket;
      if (replyForm.dataset.mode === "reply" && socket && socket.readyState === WebSocket.OPEN &&
          Date.now() - lastTypingSent > 2500) {
        lastTypingSent = Date.now();
        socket.send(JSON.stringify({ type: "typing" }));
      }
    });

    replyInput.addEventListener("keydown", (key) => {
      if (key.key === "Enter" && !key.shiftKey) {
        key.preventDefault();
        replyForm.requestSubmit(document.getElementById(
          replyForm.dataset.mode === "note" ? "add-note" : "send-as-me"));
      }
    });

    // --- Saved replies
    let savedById = new Map();
    async function loadSavedReplies() {
      try {
        const data = await getJson(root.dataset.savedRepliesUrl);
        savedById = new Map(data.saved_replies.map((reply) => [reply.id, reply]));
        const first = savedReplies.options[0];
        savedReplies.replaceChildren(first, ...data.saved_replies.map((reply) => {
          const option = element("option", "", reply.title);
          option.value = reply.id;
          return option;
        }));
      } catch (error) { /* the reply box works without them */ }
    }
    savedReplies.addEventListener("change", () => {
      const reply = savedById.get(savedReplies.value);
      if (reply) {
        replyInput.value = replyInput.value ? replyInput.value + "\n" + reply.text : reply.text;
        replyInput.focus();
      }
      savedReplies.value = "";
    });
    document.getElementById("save-reply").addEventListener("click", async () => {
      const text = replyInput.value.trim();
      if (!text) { connection.textContent = "Write the reply first, then save it."; return; }
      const title = window.prompt("Name this saved reply", text.slice(0, 40));
      if (!title) return;
      try {
        await sendJson("POST", root.dataset.savedRepliesUrl, { title, text });
        connection.textContent = `Saved “${title}”.`;
        loadSavedReplies();
      } catch (error) {
        connection.textContent = error.message;
      }
    });

    // --- Notes and the customer panel
    function showNote(note) {
      const item = element("li", "note");
      const meta = element("span", "meta", `${note.author} · ${clock(note.created_utc)}`);
      item.append(meta, element("span", "body", note.text));
      notesList.append(item);
    }
    async function loadNotes() {
      try {
        const data = await getJson(root.dataset.notesUrl);
        notesList.replaceChildren();
        data.notes.forEach(showNote);
      } catch (error) { /* shown empty */ }
    }

    async function loadCustomer() {
      const details = document.getElementById("customer-details");
      try {
        const data = await getJson(root.dataset.customerUrl);
        document.getElementById("customer-name").textContent = data.is_guest ? "Guest (not signed in)" : data.name;
        const parts = [];
        if (data.tags.length) {
          const tags = element("p", "tags");
          data.tags.forEach((tag) => tags.append(element("span", "tag", tag)));
          parts.push(tags);
        }
        if (data.variables.length) {
          const dl = element("dl", "variables");
          data.variables.forEach((variable) => {
            const value = typeof variable.value === "string" ? variable.value : JSON.stringify(variable.value);
            dl.append(element("dt", "", variable.name), element("dd", "", value));
          });
          parts.push(dl);
        }
        parts.push(element("h3", "", "Earlier conversations"));
        if (data.earlier_sessions.length) {
          const ul = element("ul", "earlier");
          data.earlier_sessions.forEach((other) => {
            const link = element("a", "", other.title);
            link.href = root.dataset.sessionUrlBase + encodeURIComponent(other.id) + "/";
            const li = element("li");
            li.append(link, element("span", "sub", " · " + new Date(other.created_utc).toLocaleDateString()));
            ul.append(li);
          });
          parts.push(ul);
        } else {
          parts.push(element("p", "hint", data.is_guest ? "Guests are not recognised across visits." : "None."));
        }
        details.replaceChildren(...parts);
      } catch (error) {
        details.replaceChildren(element("p", "hint", "Could not load the customer."));
      }
    }

    document.getElementById("close-explanation").addEventListener("click", () => {
      explanation.hidden = true;
    });

    const live = keepConnected(
      () => socketUrl(`/ws/sessions/${encodeURIComponent(sessionId)}/events?min_offset=${nextOffset}`),
      {
        onopen: refreshSummary,
        onmessage: (payload) => {
          if (payload.type === "event") showEvent(payload.event);
          else if (payload.type === "session") refreshSummary();
          else if (payload.type === "typing" && payload.role === "customer") {
            agentStatus.textContent = "Customer is typing…";
            clearTimeout(customerTypingTimer);
            customerTypingTimer = setTimeout(() => {
              if (agentStatus.textContent === "Customer is typing…") agentStatus.textContent = "";
            }, 6000);
          }
        },
      },
    );
    loadSavedReplies();
    loadNotes();
    loadCustomer();
  }

  if (root.dataset.page === "list") sessionListPage();
  else if (root.dataset.page === "session") sessionPage();
})();
