-- wrk script for bench_serve: POSTs the JSON body in the file named by the
-- first script argument (wrk ... URL -- BODY.json).
function init(args)
	local f = assert(io.open(args[1], "rb"))
	wrk.body = f:read("*a")
	f:close()
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end
