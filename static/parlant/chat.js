// The chat page: one session at a time, fed by the WebSocket with a long-poll fallback.
// Events are keyed by offset, so a replayed or repeated event updates in place, never twice.
(function () {
  "use strict";
  const root = document.querySelector(".chat");
  const csrfToken = root.dataset.csrf;
  const timeline = document.getElementById("timeline");
  const statusLine = document.getElementById("status");
  const messageForm = document.getElementById("message-form");
  const messageInput = document.getElementById("message-input");
  const STATUS_TEXT = {
    acknowledged: "Message received", processing: "Thinking…", typing: "Typing…",
    ready: "", cancelled: "", error: "Something went wrong; please try again.",
  };
  let sessionId = null;
  // Under the strict policy an anonymous visitor's session is reachable only with the guest
  // token that POST /sessions hands out; the development policy simply sends none.
  let guestToken = null;
  let nextOffset = 0;
  let socket = null;
  let polling = false;
  const rendered = new Map();

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: authorized({ "Content-Type": "application/json", "X-CSRFToken": csrfToken }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    guestToken = response.headers.get("X-Parlant-Guest-Token") || guestToken;
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((data && data.detail) || response.statusText);
    return data;
  }

  function authorized(headers) {
    if (guestToken) headers.Authorization = "Bearer " + guestToken;
    return headers;
  }

  function showEvent(event) {
    nextOffset = Math.max(nextOffset, event.offset + 1);
    if (event.kind === "status") {
      const status = event.data && event.data.status;
      if (status in STATUS_TEXT) statusLine.textContent = STATUS_TEXT[status];
      return;
    }
    if (event.kind !== "message") return;
    let bubble = rendered.get(event.offset);
    if (!bubble) {
      bubble = document.createElement("div");
      bubble.className = "message " + event.source;
      bubble.dataset.offset = String(event.offset);
      const who = document.createElement("span");
      who.className = "who";
      const body = document.createElement("span");
      body.className = "body";
      bubble.append(who, body);
      rendered.set(event.offset, bubble);
      const later = [...timeline.children].find((node) => Number(node.dataset.offset) > event.offset);
      timeline.insertBefore(bubble, later || null);
    }
    const participant = (event.data && event.data.participant) || {};
    bubble.querySelector(".who").textContent = participant.display_name || event.source;
    // textContent, never innerHTML: messages are shown exactly as written.
    bubble.querySelector(".body").textContent = event.data.message || "";
    timeline.scrollTop = timeline.scrollHeight;
  }

  function connectSocket() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const token = guestToken ? `&token=${encodeURIComponent(guestToken)}` : "";
    const url =
      `${scheme}://${location.host}/ws/sessions/${sessionId}/events?min_offset=${nextOffset}${token}`;
    socket = new WebSocket(url);
    socket.onmessage = (message) => {
      const payload = JSON.parse(message.data);
      if (payload.type === "event") showEvent(payload.event);
    };
    socket.onclose = () => {
      socket = null;
      if (sessionId) startPolling();
    };
  }

  async function startPolling() {
    if (polling) return;
    polling = true;
    const current = sessionId;
    while (sessionId === current && !socket) {
      try {
        const response = await fetch(
          `/sessions/${current}/events?min_offset=${nextOffset}&wait_for_data=30`,
          { headers: authorized({}) });
        if (response.ok) (await response.json()).forEach(showEvent);
        else if (response.status !== 504) await new Promise((r) => setTimeout(r, 2000));
      } catch (error) {
        await new Promise((r) => setTimeout(r, 2000));
      }
      if (sessionId === current && !socket) connectSocket();
      break;
    }
    polling = false;
  }

  document.getElementById("start-form").addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const agentId = document.getElementById("agent-select").value;
    if (!agentId) return;
    if (socket) { const old = socket; socket = null; old.onclose = null; old.close(); }
    timeline.replaceChildren();
    rendered.clear();
    nextOffset = 0;
    guestToken = null;
    statusLine.textContent = "";
    const session = await api("POST", "/sessions", { agent_id: agentId });
    sessionId = session.id;
    messageForm.hidden = false;
    messageInput.focus();
    connectSocket();
  });

  messageForm.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const message = messageInput.value;
    if (!message.trim() || !sessionId) return;
    messageInput.value = "";
    try {
      await api("POST", `/sessions/${sessionId}/events`,
        { kind: "message", source: "customer", message });
    } catch (error) {
      statusLine.textContent = error.message;
      messageInput.value = message;
    }
  });

  messageInput.addEventListener("keydown", (key) => {
    if (key.key === "Enter" && !key.shiftKey) {
      key.preventDefault();
      messageForm.requestSubmit();
    }
  });
})();
