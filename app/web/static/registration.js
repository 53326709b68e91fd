// 获取验证码: after a code was sent the button waits (data-wait seconds) before it can send another, counting down.
// With data-endpoint (registration) the code is asked for in the background, so files and passwords already chosen
// stay in the form; without JavaScript the button submits the form and the page comes back with the countdown.
(function () {
  var button = document.getElementById('send-code');
  if (!button) return;
  var status = document.getElementById('code-status');
  function countdown(left) {
    if (left <= 0) { button.disabled = false; button.textContent = '重新获取'; return; }
    button.disabled = true;
    button.textContent = left + '秒后可重新获取';
    window.setTimeout(function () { countdown(left - 1); }, 1000);
  }
  var wait = parseInt(button.getAttribute('data-wait') || '0', 10);
  if (wait > 0) countdown(wait);
  var endpoint = button.getAttribute('data-endpoint');
  if (!endpoint || !window.fetch || !status) return;
  button.addEventListener('click', function (event) {
    event.preventDefault();
    var form = button.form;
    var body = new FormData();
    body.append('phone', form.elements.phone.value);
    body.append('csrf_token', form.elements.csrf_token.value);
    status.className = 'hint';
    status.textContent = '正在发送…';
    fetch(endpoint, { method: 'POST', body: body, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        var data = result.data;
        if (result.ok) {
          status.className = 'ok-text';
          status.textContent = data.message;
          countdown(data.wait || 60);
        } else {
          status.className = 'error-text';
          status.textContent = (data.errors && (data.errors.phone || data.errors.sms_code)) || data.message;
        }
      })
      .catch(function () {
        status.className = 'error-text';
        status.textContent = '网络异常，验证码未发送，请稍后重试';
      });
  });
})();
