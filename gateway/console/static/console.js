// The console's only script. It keeps the live parts of a page current (server-sent events
// carry them as HTML rendered by the server) and the waiting times ticking. Without it the
// pages still work: they just need reloading.
(function () {
  "use strict";
  var body = document.body;
  var status = document.getElementById("live-status");
  var title = document.title;
  var offset = 0; // the server's clock minus this one, in ms
  var last = {}; // the fragment last put in each live part, to leave unchanged ones alone

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function tick() {
    var now = Date.now() + offset;
    var spans = document.querySelectorAll(".wait[data-since]");
    for (var i = 0; i < spans.length; i++) {
      var s = Math.max(0, Math.floor((now - Date.parse(spans[i].getAttribute("data-since"))) / 1000));
      var m = Math.floor(s / 60);
      var h = Math.floor(m / 60);
      spans[i].textContent = h > 0 ? h + ":" + pad(m % 60) + ":" + pad(s % 60) : pad(m) + ":" + pad(s % 60);
    }
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  var url = body.getAttribute("data-events");
  if (url && window.EventSource) {
    var source = new EventSource(url);
    source.addEventListener("board", function (event) {
      var data = JSON.parse(event.data);
      offset = Date.parse(data.now) - Date.now();
      Object.keys(data.html).forEach(function (id) {
        var part = document.getElementById(id);
        if (part && last[id] !== data.html[id]) {
          part.innerHTML = data.html[id];
          last[id] = data.html[id];
        }
      });
      if (typeof data.ringing === "boolean") {
        document.title = data.ringing ? "Đổ chuông · " + title : title;
        body.classList.toggle("ringing", data.ringing);
      }
      body.setAttribute("data-live", "on");
      say("Đang cập nhật trực tiếp.");
      tick();
    });
    source.onerror = function () {
      body.setAttribute("data-live", "off");
      say("Mất kết nối với máy chủ, đang kết nối lại…");
    };
  }
  setInterval(tick, 1000);
})();
