-- wrk script: authenticated GET of one path. Set CASTERA_COOKIE ("sessionid=...") or
-- CASTERA_AUTH ("Basic ...") in the environment, and pass the path as wrk's URL.
local cookie = os.getenv("CASTERA_COOKIE")
local auth = os.getenv("CASTERA_AUTH")
if cookie then wrk.headers["Cookie"] = cookie end
if auth then wrk.headers["Authorization"] = auth end
