// When an htmx request fails (no answer, or an error status), htmx leaves the page as it was: a tap that
// did nothing would pass for a tap that worked. Say so, in the page's language (the texts are in the page).
(function () {
  var note = document.getElementById("request-failed");
  if (!note) return;
  function say(kind) {
    note.textContent = note.dataset[kind];
    note.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function () { note.hidden = true; });
  document.addEventListener("htmx:sendError", function () { say("offline"); });
  document.addEventListener("htmx:timeout", function () { say("offline"); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    say(status === 503 || status === 429 ? "busy" : status >= 500 ? "failed" : "refused");
  });
})();
