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
      .log { margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex;
        flex-direction: column; gap: 8px; }
      .message { max-width: 80%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap;
        overflow-wrap: anywhere; font-size: 14px; line-height: 1.4; }
      .message .who { display: block; font-size: 11px; opacity: .7; margin-bottom: 2px; }
      .message.customer { align-self: flex-end; background: var(--parlant-customer-bubble, #dfe7ff); }
      .message.agent { align-self: flex-start; background: var(--parlant-agent-bubble, #f1f3f8); }
      .message .meta { display: flex; gap: 8px; font-size: 11px; opacity: .75; margin-bottom: 2px; }
      .message .meta .who { margin: 0; opacity: 1; }
      .message .when { margin-left: auto; }
      .system-line { align-self: center; margin: 2px 0; padding: 2px 10px; font-size: 12px;
        color: #4a5263; background: #eceff5; border-radius: 999px; }
      .typing { align-self: flex-start; display: inline-flex; gap: 4px; padding: 10px 12px;
        background: var(--parlant-agent-bubble, #f1f3f8); border-radius: 12px; }
      .typing i { width: 6px; height: 6px; border-radius: 50%; background: #7a8396;
        animation: parlant-blink 1.2s infinite ease-in-out; }
      .typing i:nth-of-type(2) { animation-delay: .2s; }
      .typing i:nth-of-type(3) { animation-delay: .4s; }
      @keyframes parlant-blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }
      @media (prefers-reduced-motion: reduce) { .typing i { animation: none; } }
      .badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 5px;
        border-radius: 10px; background: #c62828; color: #fff; font-size: 12px; font-weight: 700;
        display: grid; place-items: center; }
      .badge[hidden] { display: none; }
      .bubble { position: relative; }
      .bubble .icon-close { display: none; }
      .bubble[aria-expanded="true"] .icon-open { display: none; }
      .bubble[aria-expanded="true"] .icon-close { display: block; }
      .status { min-height: 18px; margin: 0 12px 4px; font-size: 12px; opacity: .75; }
      .status button { background: none; border: 0; padding: 0; color: inherit; font-weight: 700;
        text-decoration: underline; }
      .error { color: #b3261e; }
      form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e6e8ef; }
      textarea { flex: 1; resize: none; font: inherit; font-size: 16px; padding: 8px;
        border-radius: 8px; border: 1px solid #c9cedb; }
      form button { border: 0; border-radius: 8px; padding: 0 14px; color: #fff;
        background: var(--parlant-accent, #3156d3); }
      /* Phones: the open chat takes the whole screen; the page behind cannot be used anyway. */
      @media (max-width: 600px) {
        .panel { position: fixed; inset: 0; width: 100vw; height: 100vh; height: 100dvh;
          border-radius: 0; bottom: 0; right: 0; }
        :host([data-open]) .bubble { display: none; }
      }
      .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    </style>
    <div class="panel" role="dialog" aria-modal="false" hidden>
      <header><h2></h2><button type="button" class="close" aria-label="Close chat">×</button></header>
      <div class="log" role="log" aria-live="polite" aria-label="Conversation"></div>
      <p class="status" role="status"></p>
      <form>
        <label class="visually-hidden" for="parlant-input">Message</label>
        <textarea id="parlant-input" rows="2" maxlength="8000" placeholder="Write a message…"></textarea>
        <button type="submit" class="send">Send</button>
      </form>
    </div>
    <button type="button" class="bubble" aria-label="Open chat" aria-expanded="false">
      <svg class="icon-open" width="26" height="26" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/>
      </svg><svg class="icon-close" width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"/>
      </svg><span class="badge" hidden></span></button>`;
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
  const badge = shadow.querySelector(".badge");
  let unread = 0;

  function showUnread() {
    badge.hidden = unread === 0;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    bubble.setAttribute("aria-label", panel.hidden
      ? (unread ? `Open chat, ${unread} unread` : "Open chat") : "Close chat");
  }

  function setOpen(isOpen) {
    panel.hidden = !isOpen;
    host.toggleAttribute("data-open", isOpen);
    if (isOpen) { unread = 0; showUnread(); }
    bubble.setAttribute("aria-expanded", String(isOpen));
    showUnread();
    if (isOpen) { input.focus(); log.scrollTop = log.scrollHeight; }
    else bubble.focus();
  }
  bubble.addEventListener("click", () => setOpen(panel.hidden));
  shadow.querySelector(".close").addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (key) => { if (key.key === "Escape") setOpen(false); });

  // --- Rendering --------------------------------------------------------------------------------
  const rendered = new Map();
  let nextOffset = 0;
  // Events replayed on connect are history, not news: they never count as unread.
  let replaying = true;
  const HANDOFF_TEXT = {
    waiting: () => "Waiting for a teammate…",
    joined: (data) => `${(data.participant && data.participant.display_name) || "A teammate"} joined`,
    returned: () => "The assistant is back",
  };
  const typing = document.createElement("div");
  typing.className = "typing";
  typing.setAttribute("aria-label", "typing");
  typing.append(document.createElement("i"), document.createElement("i"), document.createElement("i"));
  let typingTimer = null;

  function showTyping(who) {
    typing.setAttribute("aria-label", `${who} is typing`);
    log.append(typing);
    log.scrollTop = log.scrollHeight;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 6000);
  }
  function hideTyping() { clearTimeout(typingTimer); typing.remove(); }

  function insertInOrder(item, offset) {
    const later = [...log.children].find(
      (node) => node.dataset.offset !== undefined && Number(node.dataset.offset) > offset);
    if (later) log.insertBefore(item, later);
    else if (typing.parentNode === log) log.insertBefore(item, typing);
    else log.append(item);
  }

  function showStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function showEvent(event) {
    nextOffset = Math.max(nextOffset, event.offset + 1);
    const data = event.data || {};
    if (event.kind === "status") {
      if (data.status === "error") { hideTyping(); showStatus("Something went wrong; please try again.", true); }
      else if (data.status === "processing" || data.status === "typing") { showStatus(""); showTyping("The assistant"); }
      else { hideTyping(); showStatus(STATUS_TEXT[data.status] || ""); }
      return;
    }
    if (event.kind === "custom" && event.source === "system" && data.handoff in HANDOFF_TEXT) {
      if (rendered.has(event.offset)) return;
      const line = document.createElement("div");
      line.className = "system-line";
      line.dataset.offset = String(event.offset);
      line.textContent = HANDOFF_TEXT[data.handoff](data);
      rendered.set(event.offset, line);
      insertInOrder(line, event.offset);
      log.scrollTop = log.scrollHeight;
      return;
    }
    if (event.kind !== "message") return;
    let item = rendered.get(event.offset);
    if (!item) {
      const isCustomer = event.source === "customer" || event.source === "customer_ui";
      item = document.createElement("div");
      item.className = "message " + (isCustomer ? "customer" : "agent");
      item.dataset.offset = String(event.offset);
      item.dataset.source = event.source;
      const meta = document.createElement("span");
      meta.className = "meta";
      const who = document.createElement("span");
      who.className = "who";
      const when = document.createElement("time");
      when.className = "when";
      meta.append(who, when);
      const body = document.createElement("span");
      body.className = "body";
      item.append(meta, body);
      rendered.set(event.offset, item);
      insertInOrder(item, event.offset);
      if (!isCustomer) {
        showStatus("");
        hideTyping();
        if (panel.hidden && !replaying) { unread += 1; showUnread(); }
      }
    }
    const when = item.querySelector(".when");
    const moment = event.creation_utc ? new Date(event.creation_utc) : new Date();
    when.textContent = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (event.creation_utc) when.dateTime = event.creation_utc;
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
    socket.onopen = () => {
      hasOpened = true;
      if (statusLine.dataset.reconnecting) { delete statusLine.dataset.reconnecting; showStatus(""); }
      // The replay arrives right after the socket opens; what comes later is news.
      setTimeout(() => { replaying = false; }, 1500);
    };
    socket.onmessage = (message) => {
      const payload = JSON.parse(message.data);
      if (payload.type === "event") showEvent(payload.event);
      else if (payload.type === "typing" && payload.role === "operator") showTyping(payload.name || "A teammate");
    };
    socket.onclose = () => {
      socket = null;
      if (generation !== streamGeneration) return;
      // A socket that never opened (a proxy or origin policy in the way) will not open on
      // retry either: long-poll from here on. One that dropped resumes after a short pause.
      if (!hasOpened) usePolling = true;
      else { statusLine.dataset.reconnecting = "1"; showStatus("Reconnecting…"); }
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
    lastTypingSent = 0;  // a sent message ends the burst: the next keystroke is news again
    input.value = "";
    try {
      if (!state.sessionId) await createSession();
      await call("POST", `/sessions/${encodeURIComponent(state.sessionId)}/events`,
        { kind: "message", source: "customer", message });
    } catch (error) {
      if (error.status === 404 || error.status === 401 || error.status === 403) forgetSession();
      input.value = message;
      // fetch() rejects with a TypeError ("Failed to fetch") when the network is down.
      showStatus(error instanceof TypeError ? "Couldn't send: you seem to be offline." : `Couldn't send: ${error.message}`, true);
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => form.requestSubmit());
      statusLine.append(" ", retry);
    }
  });

  let lastTypingSent = 0;
  input.addEventListener("input", () => {
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastTypingSent > 2500) {
      lastTypingSent = Date.now();
      socket.send(JSON.stringify({ type: "typing" }));
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
