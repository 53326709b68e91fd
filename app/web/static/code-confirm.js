// 「请核对以下信息」：点击「确认赋码」或「返回修改」后按钮即不可再点，双击只发一次请求
// （服务端的一次性表单令牌仍保证只赋一个代码）。
(function () {
  var form = document.querySelector('form.confirm-code');
  if (!form) return;
  form.addEventListener('submit', function () {
    // after the browser has taken the clicked button's value into the request
    setTimeout(function () {
      form.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
    }, 0);
  });
})();
