-- wrk script: POST a chat message. Needs CASTERA_AUTH ("Basic ...") in the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("CASTERA_AUTH")
wrk.body = '{"content":"benchmark message"}'
