// Refresh a campaign's count every few seconds from its JSON figures.
// Progressive enhancement: without JavaScript the page shows the count it
// was rendered with. No inline script (strict CSP): this file is loaded with
// the page's nonce.
(function () {
  "use strict";
  var REFRESH_MS = 5000;

  function refresh(section) {
    var url = section.getAttribute("data-url");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (figures) {
        var count = section.querySelector("[data-count]");
        var goal = section.querySelector("[data-goal]");
        var progress = section.querySelector("[data-progress]");
        if (count && count.textContent !== figures.total_display) {
          count.textContent = figures.total_display;
        }
        if (goal) { goal.textContent = figures.goal_display; }
        if (progress) {
          progress.max = figures.goal;
          progress.value = figures.total;
        }
      })
      .catch(function () { /* keep the last count; try again later */ });
  }

  function start() {
    var sections = document.querySelectorAll("[data-live-count]");
    Array.prototype.forEach.call(sections, function (section) {
      window.setInterval(function () {
        if (!document.hidden) { refresh(section); }
      }, REFRESH_MS);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
