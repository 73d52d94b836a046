// The customer's chat page: one conversation with the site's agent, kept across reloads.
// Live over the WebSocket (long-polling when it cannot open); events are keyed by offset, so a
// replayed or repeated event updates in place, never twice. Everything anyone wrote is shown
// with textContent, never as markup.
(function () {
  "use strict";
  const root = document.querySelector(".chat");
  const agentId = root.dataset.agentId;
  const agentName = root.dataset.agentName || "Agent";
  if (!agentId) return;
  const csrfToken = root.dataset.csrf;
  const timeline = document.getElementById("timeline");
  const welcome = document.getElementById("welcome");
  const connection = document.getElementById("connection");
  const presence = document.getElementById("presence");
  const messageForm = document.getElementById("message-form");
  const messageInput = document.getElementById("message-input");
  const storageKey = `parlant-chat:v1:${agentId}`;
  const HANDOFF_TEXT = {
    waiting: () => "Waiting for a teammate…",
    joined: (data) => `${(data.participant && data.participant.display_name) || "A teammate"} joined`,
    returned: () => `${agentName} is back`,
  };
  const TYPING_SECONDS = 6;

  // --- The conversation that survives a reload ---------------------------------------------------
  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (saved && saved.sessionId) return saved;
    } catch (error) { /* storage off or corrupt: start afresh */ }
    return { sessionId: null, guestToken: "" };
  }
  let state = loadState();
  function saveState() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { /* private mode */ }
  }

  const rendered = new Map();
  let nextOffset = 0;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeOf(utc) {
    const moment = utc ? new Date(utc) : new Date();
    return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function placeInOrder(node, offset) {
    const later = [...timeline.children].find(
      (other) => other.dataset.offset !== undefined && Number(other.dataset.offset) > offset);
    if (later) timeline.insertBefore(node, later);
    else if (typingBubble.parentNode === timeline) timeline.insertBefore(node, typingBubble);
    else timeline.append(node);
  }

  function scrollToEnd() {
    timeline.scrollTop = timeline.scrollHeight;
  }

  // --- Typing dots -------------------------------------------------------------------------------
  const typingBubble = element("div", "typing");
  typingBubble.setAttribute("aria-label", "typing");
  const typingWho = element("span", "visually-hidden");
  typingBubble.append(typingWho, element("i"), element("i"), element("i"));
  let typingTimer = null;

  function showTyping(who) {
    typingWho.textContent = `${who} is typing`;
    typingBubble.setAttribute("aria-label", `${who} is typing`);
    timeline.append(typingBubble);
    scrollToEnd();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SECONDS * 1000);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typingBubble.remove();
  }

  // --- Events ------------------------------------------------------------------------------------
  function showEvent(event) {
    nextOffset = Math.max(nextOffset, event.offset + 1);
    const data = event.data || {};
    if (event.kind === "status") {
      if (data.status === "processing" || data.status === "typing") showTyping(agentName);
      else if (data.status === "error") {
        hideTyping();
        showNotice("Sorry, something went wrong on our side. Please try again.");
      } else if (data.status === "ready" || data.status === "cancelled") hideTyping();
      return;
    }
    if (event.kind === "custom" && event.source === "system" && data.handoff in HANDOFF_TEXT) {
      if (rendered.has(event.offset)) return;
      const line = element("p", "system-line", HANDOFF_TEXT[data.handoff](data));
      line.dataset.offset = String(event.offset);
      line.dataset.handoff = data.handoff;
      rendered.set(event.offset, line);
      placeInOrder(line, event.offset);
      presence.textContent = data.handoff === "waiting" ? "A teammate will be with you shortly"
        : data.handoff === "joined" ? `You're talking with ${HANDOFF_TEXT.joined(data).replace(/ joined$/, "")}`
          : "Usually replies in seconds";
      scrollToEnd();
      return;
    }
    if (event.kind !== "message") return;
    welcome.hidden = true;
    const isCustomer = event.source === "customer" || event.source === "customer_ui";
    let bubble = rendered.get(event.offset);
    if (!bubble) {
      bubble = element("div", "message " + event.source);
      bubble.dataset.offset = String(event.offset);
      const meta = element("span", "meta");
      meta.append(element("span", "who"), element("time", "when"));
      bubble.append(meta, element("span", "body"));
      rendered.set(event.offset, bubble);
      placeInOrder(bubble, event.offset);
      if (!isCustomer) hideTyping();
    }
    const participant = data.participant || {};
    bubble.querySelector(".who").textContent = isCustomer ? "You"
      : participant.display_name || agentName;
    const when = bubble.querySelector(".when");
    when.textContent = timeOf(event.creation_utc);
    if (event.creation_utc) when.dateTime = event.creation_utc;
    bubble.querySelector(".body").textContent = data.message || "";
    scrollToEnd();
  }

  // --- Connection state --------------------------------------------------------------------------
  function showNotice(text, retry) {
    connection.replaceChildren(element("span", "", text));
    if (retry) {
      const again = element("button", "link", "Retry");
      again.type = "button";
      again.addEventListener("click", retry);
      connection.append(" ", again);
    }
    connection.hidden = false;
  }
  function clearNotice() {
    connection.hidden = true;
    connection.replaceChildren();
  }

  // --- Talking to the server ---------------------------------------------------------------------
  function headers() {
    const result = { "Content-Type": "application/json", "X-CSRFToken": csrfToken };
    if (state.guestToken) result.Authorization = "Bearer " + state.guestToken;
    return result;
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (networkError) {
      const error = new Error("You seem to be offline. Check your connection.");
      error.offline = true;
      throw error;
    }
    state.guestToken = response.headers.get("X-Parlant-Guest-Token") || state.guestToken;
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail) || "We couldn't reach the chat just now.");
      error.status = response.status;
      throw error;
    }
    return data;
  }

  let socket = null;
  let generation = 0;
  let failedOpens = 0;
  let reconnectDelay = 500;

  function stopStreaming() {
    generation += 1;
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
  }

  function startStreaming() {
    stopStreaming();
    const current = generation;
    if (failedOpens >= 2) { poll(current); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const token = state.guestToken ? `&token=${encodeURIComponent(state.guestToken)}` : "";
    let opened = false;
    socket = new WebSocket(`${scheme}://${location.host}/ws/sessions/` +
      `${encodeURIComponent(state.sessionId)}/events?min_offset=${nextOffset}${token}`);
    socket.onopen = () => {
      opened = true;
      failedOpens = 0;
      reconnectDelay = 500;
      clearNotice();
    };
    socket.onmessage = (message) => {
      const payload = JSON.parse(message.data);
      if (payload.type === "event") showEvent(payload.event);
      else if (payload.type === "typing" && payload.role === "operator") {
        showTyping(payload.name || "A teammate");
      }
    };
    socket.onclose = (closed) => {
      socket = null;
      if (current !== generation) return;
      if (closed.code === 4403 || closed.code === 4404) { forgetSession(); return; }
      if (!opened) failedOpens += 1;
      showNotice("Reconnecting…");
      setTimeout(() => { if (current === generation) startStreaming(); }, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 8000);
    };
  }

  async function poll(current) {
    while (current === generation && state.sessionId) {
      try {
        const response = await fetch(
          `/sessions/${encodeURIComponent(state.sessionId)}/events?min_offset=${nextOffset}&wait_for_data=30`,
          { headers: headers() });
        if (current !== generation) return;
        if (response.ok) { clearNotice(); (await response.json()).forEach(showEvent); }
        else if ([401, 403, 404].includes(response.status)) { forgetSession(); return; }
        else if (response.status !== 504) await new Promise((r) => setTimeout(r, 2000));
      } catch (error) {
        showNotice("Reconnecting…");
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  function forgetSession() {
    stopStreaming();
    state = { sessionId: null, guestToken: "" };
    saveState();
    rendered.clear();
    nextOffset = 0;
    hideTyping();
    timeline.replaceChildren(welcome);
    welcome.hidden = false;
    presence.textContent = "Usually replies in seconds";
    clearNotice();
  }

  async function send(message) {
    if (!state.sessionId) {
      const session = await api("POST", "/sessions", { agent_id: agentId });
      state.sessionId = session.id;
      saveState();
      startStreaming();
    }
    await api("POST", `/sessions/${encodeURIComponent(state.sessionId)}/events`,
      { kind: "message", source: "customer", message });
  }

  async function submitMessage(message) {
    clearNotice();
    try {
      await send(message);
    } catch (error) {
      if ([401, 403, 404].includes(error.status)) forgetSession();
      if (!messageInput.value) messageInput.value = message;
      showNotice(error.offline ? "Couldn't send: you seem to be offline." : `Couldn't send: ${error.message}`,
        () => { const text = messageInput.value; messageInput.value = ""; submitMessage(text); });
    }
  }

  messageForm.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const message = messageInput.value;
    if (!message.trim()) return;
    messageInput.value = "";
    growInput();
    submitMessage(message);
  });

  // Tell whoever answers (an operator) that the customer is typing; at most every few seconds.
  let lastTypingSent = 0;
  messageInput.addEventListener("input", () => {
    growInput();
    const now = Date.now();
    if (socket && socket.readyState === WebSocket.OPEN && now - lastTypingSent > 2500) {
      lastTypingSent = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });

  function growInput() {
    messageInput.style.height = "auto";
    messageInput.style.height = Math.min(messageInput.scrollHeight, 160) + "px";
  }

  messageInput.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && !key.shiftKey) {
      key.preventDefault();
      messageForm.requestSubmit();
    }
  });

  document.getElementById("new-conversation").addEventListener("click", () => {
    forgetSession();
    messageInput.focus();
  });

  window.addEventListener("online", () => { if (state.sessionId && !socket) startStreaming(); });

  if (state.sessionId) startStreaming();  // after a reload: the same conversation, replayed
  messageInput.focus();
})();
