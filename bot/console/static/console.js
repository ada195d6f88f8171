// The caseworker console's live parts: the queue and a conversation's messages update through
// server-sent events (/console/events); a reply is sent without reloading the page. Every form
// also works without this script.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var announcer = document.getElementById("announcer");

  function announce(text) {
    if (!announcer) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // --- the queue ---
  var rows = document.getElementById("queue-rows");
  if (rows) {
    var pending = null;
    var refresh = function () {
      pending = null;
      fetch("/console/queue/rows", { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          rows.innerHTML = html;
          var count = rows.querySelectorAll("tr").length;
          var counter = document.getElementById("queue-count");
          var empty = document.getElementById("queue-empty");
          if (empty) empty.hidden = count > 0;
          if (counter) {
            var text = counter.dataset.template.replace("{count}", String(count));
            counter.textContent = text;
            announce(text);
          }
        })
        .catch(function () { /* the next event tries again */ });
    };
    var queueEvents = new EventSource("/console/events");
    queueEvents.addEventListener("queue", function () {
      if (!pending) pending = window.setTimeout(refresh, 150); // several changes at once: one fetch
    });
  }

  // --- a conversation ---
  var conversation = document.querySelector("section.conversation[data-handoff]");
  var list = document.getElementById("messages");
  if (conversation && list) {
    var handoff = conversation.dataset.handoff;
    var after = conversation.dataset.after || "0";
    var seen = {};
    Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (item) { seen[item.dataset.id] = true; });
    var stream = new EventSource("/console/events?handoff=" + encodeURIComponent(handoff) + "&after=" + encodeURIComponent(after));
    stream.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      if (seen[message.id]) return;
      seen[message.id] = true;
      var item = document.createElement("li");
      item.className = "from-" + message.from;
      item.dataset.id = message.id;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = list.dataset["label" + message.from.charAt(0).toUpperCase() + message.from.slice(1)] || message.from;
      var time = document.createElement("time");
      time.dateTime = message.at;
      time.textContent = new Date(message.at).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = message.text;
      item.appendChild(who); item.appendChild(document.createTextNode(" "));
      item.appendChild(time); item.appendChild(document.createTextNode(" "));
      item.appendChild(text);
      list.appendChild(item);
      if (message.from === "debtor") announce(list.dataset.announce + ": " + message.text);
    });
    stream.addEventListener("queue", function (event) {
      var change = JSON.parse(event.data);
      if (String(change.handoff_id) === handoff && change.type !== "handoff.created") {
        window.location.reload(); // taken, returned or resolved: show the new state and actions
      }
    });

    var reply = document.querySelector("form.reply[data-api]");
    if (reply) {
      reply.addEventListener("submit", function (event) {
        event.preventDefault();
        var box = reply.querySelector("textarea");
        var button = reply.querySelector("button");
        button.disabled = true;
        fetch(reply.dataset.api, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
          body: JSON.stringify({ text: box.value })
        }).then(function (response) {
          if (response.ok) { box.value = ""; return; }
          return response.json().then(function (body) { announce(body.error ? body.error.message : String(response.status)); });
        }).catch(function () { announce("!"); })
          .finally(function () { button.disabled = false; box.focus(); });
      });
    }
  }
})();
