// SWS console: Connect's terminal. xterm.js draws the screen; keys and pastes go to the
// websocket as text, and whatever the console sends back is written to the screen.
(function () {
  "use strict";
  function start() {
    var holder = document.getElementById("terminal");
    if (!holder || !window.Terminal) { return; }
    var term = new window.Terminal({ cursorBlink: true, convertEol: false, rows: 24, cols: 80 });
    term.open(holder);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + holder.getAttribute("data-socket"));
    socket.onmessage = function (event) { term.write(event.data); };
    socket.onclose = function () {
      var closed = document.getElementById("terminal-closed");
      if (closed) { closed.hidden = false; }
      term.options.disableStdin = true;
    };
    term.onData(function (data) {
      if (socket.readyState === WebSocket.OPEN) { socket.send(data); }
    });
    term.focus();
  }
  if (document.readyState !== "loading") { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
