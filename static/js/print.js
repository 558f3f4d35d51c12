// A print button for printable pages: shown only when JavaScript can run it (CSP forbids inline handlers).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
