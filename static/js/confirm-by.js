// The signing form's choice of how to confirm: with Telegram chosen, the
// e-mail field is not needed, so it is hidden and not required. Without
// JavaScript both stay visible and the server asks for what is missing.
(function () {
  "use strict";

  function start() {
    var choices = document.querySelectorAll("input[name='confirm_by']");
    var email = document.getElementById("id_email");
    if (!choices.length || !email) { return; }
    var field = email.closest(".field");
    function update() {
      var byTelegram = document.querySelector("input[name='confirm_by'][value='telegram']:checked");
      email.required = !byTelegram;
      if (field) { field.hidden = Boolean(byTelegram); }
    }
    Array.prototype.forEach.call(choices, function (choice) {
      choice.addEventListener("change", update);
    });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
