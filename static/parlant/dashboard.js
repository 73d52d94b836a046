// The operator dashboard: a live session list, and a session view with take over / hand back.
// Everything a customer or agent wrote is shown with textContent, never as HTML.
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

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Reconnects with a growing pause; `open` is called again for every new socket.
  function keepConnected(makeUrl, handlers) {
    let delay = 500;
    function open() {
      const socket = new WebSocket(makeUrl());
      socket.onopen = () => {
        delay = 500;
        connection.textContent = "Live";
        connection.dataset.state = "live";
        if (handlers.onopen) handlers.onopen();
      };
      socket.onmessage = (message) => handlers.onmessage(JSON.parse(message.data));
      socket.onclose = (closed) => {
        connection.textContent = closed.code === 4403 ? "Not allowed." : "Reconnecting…";
        connection.dataset.state = "down";
        if (closed.code === 4403) return;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 8000);
      };
    }
    open();
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  // --- The session list ------------------------------------------------------------------------

  function sessionListPage() {
    const body = document.querySelector("#session-table tbody");
    const empty = document.getElementById("empty");
    let pending = null;

    function row(session) {
      const tr = element("tr");
      tr.dataset.sessionId = session.id;
      tr.className = session.is_waiting ? "waiting" : session.mode;
      const status = session.is_waiting ? "Waiting for a human" : MODE_TEXT[session.mode] || session.mode;
      const link = element("a", "", session.title);
      link.href = root.dataset.sessionUrlBase + encodeURIComponent(session.id) + "/";
      const cells = [
        element("td", "status", status), element("td", "title"), element("td", "", session.customer),
        element("td", "", session.agent), element("td", "holder", session.held_by || "—"),
        element("td", "preview", session.last_message),
        element("td", "", new Date(session.last_activity_utc).toLocaleTimeString()),
      ];
      cells[1].append(link);
      tr.append(...cells);
      return tr;
    }

    async function load() {
      try {
        const data = await getJson(root.dataset.sessionsUrl);
        body.replaceChildren(...data.sessions.map(row));
        empty.hidden = data.sessions.length > 0;
      } catch (error) {
        connection.textContent = "Could not load sessions: " + error.message;
      }
    }

    function loadSoon() {  // a burst of events (a streamed reply) costs one reload
      if (pending) return;
      pending = setTimeout(() => { pending = null; load(); }, 250);
    }

    keepConnected(() => socketUrl("/ws/dashboard"), { onopen: load, onmessage: loadSoon });
  }

  // --- One session -----------------------------------------------------------------------------

  function sessionPage() {
    const sessionId = root.dataset.sessionId;
    const operatorId = root.dataset.operatorId;
    const operatorName = root.dataset.operatorName;
    const timeline = document.getElementById("timeline");
    const modeLabel = document.getElementById("mode");
    const holder = document.getElementById("holder");
    const takeOver = document.getElementById("take-over");
    const handBack = document.getElementById("hand-back");
    const replyForm = document.getElementById("reply-form");
    const replyInput = document.getElementById("reply-input");
    const explanation = document.getElementById("explanation");
    const explanationBody = document.getElementById("explanation-body");
    const explanationSummary = document.getElementById("explanation-summary");
    const agentStatus = element("p", "agent-status");
    agentStatus.setAttribute("role", "status");
    timeline.after(agentStatus);
    const rendered = new Map();
    let nextOffset = 0;

    async function api(method, path, body) {
      const response = await fetch(path, {
        method,
        headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
        body: JSON.stringify(body),
      });
      const data = response.status === 204 ? null : await response.json();
      if (!response.ok) throw new Error((data && data.detail) || response.statusText);
      return data;
    }

    async function explain(traceId) {
      explanation.hidden = false;
      explanationBody.textContent = "Loading…";
      try {
        const data = await getJson(root.dataset.traceUrlBase + encodeURIComponent(traceId));
        explanationSummary.replaceChildren(...summaryOf(data.explanation));
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
    }

    // The readable part of an explanation, built with textContent only.
    function summaryOf(explained) {
      const parts = [];
      const section = (title, items) => {
        if (!items.length) return;
        parts.push(element("h3", "", title));
        const list = element("ul");
        items.forEach((text) => list.append(element("li", "", text)));
        parts.push(list);
      };
      section("Guidelines followed", explained.matched_guidelines.map(
        (match) => `${match.guideline}${match.why ? ` (${match.why})` : ""}`));
      section("Journeys", explained.journeys.map(
        (move) => `${move.journey}: ${move.from} → ${move.to}`));
      section("Tools", explained.tool_calls.map((call) =>
        `${call.tool_id}(${JSON.stringify(call.arguments)})` +
        (call.skipped ? `: ${call.skipped}` : "")));
      const llm = explained.llm;
      parts.push(element("p", "hint",
        `${explained.guidelines_considered} guideline(s) considered · ${llm.calls} LLM call(s) ` +
        `in ${llm.rounds} round(s) · ${llm.prompt_tokens} prompt tokens · ` +
        `composed as ${explained.composition.mode || "-"}`));
      return parts;
    }

    function showEvent(event) {
      nextOffset = Math.max(nextOffset, event.offset + 1);
      if (event.kind === "status") {
        const status = event.data && event.data.status;
        if (status in STATUS_TEXT) agentStatus.textContent = STATUS_TEXT[status];
        return;
      }
      if (event.kind !== "message") return;
      let bubble = rendered.get(event.offset);
      if (!bubble) {
        bubble = element("article", "message " + event.source);
        bubble.dataset.offset = String(event.offset);
        bubble.append(element("span", "who"), element("span", "body"));
        if (event.source === "ai_agent" && event.trace_id) {
          const why = element("button", "why link", "Why?");
          why.type = "button";
          why.addEventListener("click", () => explain(event.trace_id));
          bubble.append(why);
        }
        rendered.set(event.offset, bubble);
        const later = [...timeline.children].find((node) => Number(node.dataset.offset) > event.offset);
        timeline.insertBefore(bubble, later || null);
      }
      const data = event.data || {};
      const participant = data.participant || {};
      bubble.querySelector(".who").textContent =
        (participant.display_name || SOURCE_TEXT[event.source] || event.source) +
        " · " + (SOURCE_TEXT[event.source] || event.source);
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
        await api("PATCH", `/sessions/${encodeURIComponent(sessionId)}`, { mode });
        await refreshSummary();
      } catch (error) {
        connection.textContent = error.message;
      }
    }

    takeOver.addEventListener("click", () => setMode("manual"));
    handBack.addEventListener("click", () => setMode("auto"));

    replyForm.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const message = replyInput.value;
      if (!message.trim()) return;
      const source = (submit.submitter && submit.submitter.value) || "human_agent";
      const body = { kind: "message", source, message };
      if (source === "human_agent") body.participant = { id: operatorId, display_name: operatorName };
      replyInput.value = "";
      try {
        await api("POST", `/sessions/${encodeURIComponent(sessionId)}/events`, body);
      } catch (error) {
        replyInput.value = message;
        connection.textContent = error.message;
      }
    });

    replyInput.addEventListener("keydown", (key) => {
      if (key.key === "Enter" && !key.shiftKey) {
        key.preventDefault();
        replyForm.requestSubmit(document.getElementById("send-as-me"));
      }
    });

    document.getElementById("close-explanation").addEventListener("click", () => {
      explanation.hidden = true;
    });

    keepConnected(
      () => socketUrl(`/ws/sessions/${encodeURIComponent(sessionId)}/events?min_offset=${nextOffset}`),
      {
        onopen: refreshSummary,
        onmessage: (payload) => {
          if (payload.type === "event") showEvent(payload.event);
          else if (payload.type === "session") refreshSummary();
        },
      },
    );
  }

  if (root.dataset.page === "list") sessionListPage();
  else if (root.dataset.page === "session") sessionPage();
})();
