// Progress of organisers' jobs (invalidation by criteria, prepared files),
// polled every two seconds. Without JavaScript the page shows the state at load.
(function () {
  "use strict";
  var progress = document.getElementById("invalidation-progress");
  var files = document.getElementById("prepared-files");
  var target = progress || files;
  if (!target || !window.fetch) return;
  var url = target.getAttribute("data-poll");
  var lastPending = null;
  // Rendered while the job ran: once it stops, the page is loaded again for
  // what only a finished job shows (its result, the undo button).
  var runningAtLoad = target.getAttribute("data-finished") === "false";

  // The figures as the page writes them (Khmer digits on /km/), when the
  // server sends them so.
  function shown(data, key) {
    return data.display && key in data.display ? data.display[key] : String(data[key]);
  }

  function update(data) {
    if (progress) {
      var bar = progress.querySelector("progress");
      if (bar) bar.value = data.percent;
      Object.keys(data).forEach(function (key) {
        var field = progress.querySelector('[data-field="' + key + '"]');
        if (field) field.textContent = shown(data, key);
      });
      if (data.finished && runningAtLoad) {
        window.location.reload();
        return false;
      }
      return !data.finished;
    }
    (data.jobs || []).forEach(function (job) {
      var row = files.querySelector('[data-job="' + job.id + '"]');
      if (!row) return;
      var bar = row.querySelector("progress");
      if (bar) bar.value = job.percent;
      Object.keys(job).forEach(function (key) {
        var field = row.querySelector('[data-field="' + key + '"]');
        if (field) field.textContent = shown(job, key);
      });
    });
    if (lastPending !== null && data.pending < lastPending) {
      window.location.reload();
      return false;
    }
    lastPending = data.pending;
    return data.pending > 0;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) { if (update(data)) window.setTimeout(poll, 2000); })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
