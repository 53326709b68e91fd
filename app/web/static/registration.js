// 获取验证码: after a code was sent the button waits (data-wait seconds) before it can send another, counting down.
(function () {
  var button = document.getElementById('send-code');
  if (!button) return;
  var left = parseInt(button.getAttribute('data-wait') || '0', 10);
  var label = button.textContent;
  function tick() {
    if (left <= 0) { button.disabled = false; button.textContent = '重新获取'; return; }
    button.disabled = true;
    button.textContent = left + '秒后可重新获取';
    left -= 1;
    window.setTimeout(tick, 1000);
  }
  if (left > 0) tick(); else button.textContent = label;
})();
