-- wrk script: POST a chat message. Credentials from the environment: CASTERA_COOKIE
-- ("sessionid=...; csrftoken=...") with CASTERA_CSRF (the csrftoken value, echoed in
-- X-CSRFToken as the API asks of unsafe requests), or CASTERA_AUTH ("Basic ...").
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local cookie = os.getenv("CASTERA_COOKIE")
local csrf = os.getenv("CASTERA_CSRF")
local auth = os.getenv("CASTERA_AUTH")
if cookie then wrk.headers["Cookie"] = cookie end
if csrf then wrk.headers["X-CSRFToken"] = csrf end
if auth then wrk.headers["Authorization"] = auth end
wrk.body = '{"content":"benchmark message"}'
