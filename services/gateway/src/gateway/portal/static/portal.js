// Copy buttons: data-copy="text" copies that text; data-copy-all="#table" copies every code.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy],[data-copy-all]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  if (text === null) {
    var codes = document.querySelectorAll(button.getAttribute("data-copy-all") + " code.code");
    text = Array.prototype.map.call(codes, function (c) { return c.textContent; }).join("\n");
  }
  var done = function () { button.dataset.copied = "1"; button.classList.add("copied"); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, done);
  } else {
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) {}
    document.body.removeChild(area); done();
  }
});
