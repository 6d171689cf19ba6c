// postcall console: the only script the console loads (no inline scripts: the CSP forbids them).
// While a call is live the server marks <body data-refresh="N">: reload every N seconds, but
// never while the user is typing in a form field or the tab is hidden.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (seconds > 0) {
    var tick = function () {
      var el = document.activeElement;
      var typing = el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
      if (typing || document.hidden) {
        window.setTimeout(tick, seconds * 1000);
      } else {
        // Reload without a one-off ?flash= message, so it is not shown again and again.
        var url = new URL(window.location.href);
        url.searchParams.delete("flash");
        window.location.replace(url.toString());
      }
    };
    window.setTimeout(tick, seconds * 1000);
  }
})();
