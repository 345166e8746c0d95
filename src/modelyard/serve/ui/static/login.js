"use strict";
// Log in: the admin key goes to POST /admin/session once; the session cookie (HttpOnly) does the
// rest, and the key is never kept in the page or in storage. The button is enabled only once
// this script handles the form (a native submit would put the key in the URL; the page's CSP
// blocks it anyway: form-action 'none').

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("admin-key");
  const error = document.getElementById("login-error");
  const button = document.getElementById("login-button");
  error.hidden = true;
  button.disabled = true;
  try {
    const response = await fetch("/admin/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ admin_key: input.value }),
    });
    if (response.ok) {
      input.value = "";
      location.assign("/ui");
      return;
    }
    const data = await response.json().catch(() => ({}));
    const retry = response.headers.get("Retry-After");
    error.textContent =
      response.status === 401 ? "That is not the admin key."
      : response.status === 429 ? `Too many wrong keys from this address; retry in ${retry || "60"} s.`
      : (data.error && data.error.message) || `The gateway answered HTTP ${response.status}.`;
    error.hidden = false;
  } catch (failure) {
    error.textContent = `Cannot reach the gateway: ${failure.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});

document.getElementById("login-button").disabled = false;
