// Polls a background task (GET /supervisor/tasks/<id>) every second until it ends.
// onProgress(task) while it is queued or running; onDone(task) once, when done or failed.
(function () {
  "use strict";
  window.watchTask = function (id, onProgress, onDone) {
    var stopped = false;
    function poll() {
      fetch("/supervisor/tasks/" + encodeURIComponent(id), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("the task could not be read (HTTP " + response.status + ")");
          }
          return response.json();
        })
        .then(function (task) {
          if (stopped) return;
          if (task.status === "done" || task.status === "failed") {
            stopped = true;
            onDone(task);
          } else {
            onProgress(task);
            setTimeout(poll, 1000);
          }
        })
        .catch(function (error) {
          if (stopped) return;
          onProgress({ status: "unknown", progress: 0, message: String(error.message || error) });
          setTimeout(poll, 3000);
        });
    }
    poll();
    return function stop() {
      stopped = true;
    };
  };
})();
