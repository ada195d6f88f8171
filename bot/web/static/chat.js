/* The debtor web chat: one conversation per browser tab session, kept across reloads and
   dropped connections. No framework; the Socket.IO client is served locally. */
(function () {
  "use strict";

  var main = document.getElementById("main");
  var log = document.getElementById("log");
  var conversation = document.getElementById("conversation"); // the scrolling chat area
  var typing = document.getElementById("typing");
  var status = document.getElementById("status");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var switcher = document.getElementById("language-switch");
  var SESSION_KEY = "debtbot.session";
  var LANGUAGE_KEY = "debtbot.language";
  var strings = {};
  var language = sessionStorage.getItem(LANGUAGE_KEY) === "en" ? "en" : "nb";
  var shown = 0; // messages in the log, to add only what is new from the server's history
  var handedOff = false;
  var withCaseworker = false; // a caseworker has written in this conversation since the last hand-back
  var online = false;

  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  var sessionId = sessionStorage.getItem(SESSION_KEY);
  if (!/^web-[0-9a-f]{32}$/.test(sessionId || "")) {
    sessionId = newSessionId();
    sessionStorage.setItem(SESSION_KEY, sessionId);
  }

  function t(key) {
    var text = (strings[language] || {})[key];
    return text === undefined ? null : text.replace("{agency}", main.dataset.agency || "");
  }

  function applyLanguage() {
    document.documentElement.lang = language;
    document.querySelectorAll("[data-i18n]").forEach(function (element) {
      var text = t(element.dataset.i18n);
      if (text !== null) { element.textContent = text; }
    });
    if (t("title")) { document.title = t("title"); }
    switcher.lang = t("switch_lang") || "en";
    document.querySelectorAll(".who").forEach(function (element) {
      element.textContent = whoLabel(element.dataset.who, element.dataset.name);
    });
    showStatus();
  }

  function whoLabel(who, name) {
    var label = t(who) || "";
    return who === "caseworker" ? label.replace("{name}", name || "") : label;
  }

  function showStatus() {
    var key = !online && shown > 0 ? "offline" : (withCaseworker ? "with_caseworker" : (handedOff ? "handoff" : null));
    status.textContent = key ? t(key) || "" : "";
    status.className = "status" + (key ? " status-" + key : "");
  }

  function removeChoices() {
    log.querySelectorAll(".choices").forEach(function (group) { group.remove(); });
  }

  function addMessage(message) {
    var byCaseworker = message.sender === "bot" && message.from === "caseworker";
    var item = document.createElement("div");
    item.className = "message message-" + message.sender + (byCaseworker ? " message-caseworker" : "");
    var who = document.createElement("span");
    // A caseworker's name is shown to everyone; "You" and "Assistant" only to screen readers.
    who.className = byCaseworker ? "who who-caseworker" : "visually-hidden who";
    who.dataset.who = message.sender === "user" ? "you" : (byCaseworker ? "caseworker" : "assistant");
    if (byCaseworker) { who.dataset.name = message.name || ""; }
    who.textContent = whoLabel(who.dataset.who, who.dataset.name) + " ";
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text || "";
    item.appendChild(who);
    item.appendChild(text);
    if (message.quick_replies && message.quick_replies.length) {
      removeChoices();
      var group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", t("choices") || "");
      message.quick_replies.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice.title;
        button.addEventListener("click", function () { send(choice.payload, choice.title); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    if (message.handoff) { handedOff = true; }
    if (byCaseworker) { withCaseworker = true; }
    if (message.returned) { handedOff = false; withCaseworker = false; }
    showStatus();
    log.appendChild(item);
    shown += 1;
    showLatest();
  }

  // Keep the newest message in view inside the chat area (the page itself does not scroll).
  function showLatest() {
    conversation.scrollTop = conversation.scrollHeight;
  }

  function send(text, shownAs) {
    if (!text) { return; }
    removeChoices();
    addMessage({ sender: "user", text: shownAs || text });
    socket.emit("user_uttered", { message: text, session_id: sessionId, metadata: { language: language } });
  }

  var socket = window.io(main.dataset.socketUrl, {
    path: main.dataset.socketPath,
    transports: ["websocket", "polling"],
    reconnectionDelayMax: 5000
  });

  socket.on("connect", function () {
    online = true;
    showStatus();
    socket.emit("session_request", { session_id: sessionId, language: language });
  });
  socket.on("disconnect", function () { online = false; typing.hidden = true; showStatus(); });
  socket.on("session_history", function (history) {
    log.setAttribute("aria-busy", "true");
    history.slice(shown).forEach(addMessage);
    log.removeAttribute("aria-busy");
  });
  socket.on("bot_uttered", function (message) {
    message.sender = "bot";
    addMessage(message);
  });
  socket.on("bot_typing", function (state) {
    typing.hidden = !state.typing;
    showLatest();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
    input.focus();
  });

  switcher.addEventListener("click", function () {
    language = language === "nb" ? "en" : "nb";
    sessionStorage.setItem(LANGUAGE_KEY, language);
    applyLanguage();
    // The assistant switches too; the command itself is not shown.
    socket.emit("user_uttered", { message: t("switch_message"), session_id: sessionId, metadata: { language: language } });
  });

  fetch("/static/i18n.json").then(function (r) { return r.json(); }).then(function (loaded) {
    strings = loaded;
    applyLanguage();
  });
}());
