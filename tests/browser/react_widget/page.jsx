// The official React widget, unchanged, pointed at our server: ?server=…&agent=…
import { createRoot } from "react-dom/client";
import ParlantChatbox from "parlant-chat-react";
import "parlant-chat-react/style.css";

const params = new URLSearchParams(window.location.search);
createRoot(document.getElementById("root")).render(
  <ParlantChatbox server={params.get("server")} agentId={params.get("agent")} />,
);
