// Show a "Copy link" button next to the share link and copy on click.
// Without JavaScript the link stays in a read-only field, ready to select.
(function () {
  "use strict";

  function start() {
    var buttons = document.querySelectorAll("[data-copy-link]");
    Array.prototype.forEach.call(buttons, function (button) {
      var container = button.parentNode;
      var source = container.querySelector("[data-copy-source]");
      var status = container.querySelector("[data-copy-status]");
      if (!source) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var done = function () {
          if (status) { status.textContent = button.getAttribute("data-copied-text"); }
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(source.value).then(done, function () {
            source.select();
          });
        } else {
          source.select();
          if (document.execCommand && document.execCommand("copy")) { done(); }
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
