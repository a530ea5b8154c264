-- wrk script: the seed's /predict request (setosa features).
wrk.method = "POST"
wrk.body = '{"features": [5.1, 3.5, 1.4, 0.2]}'
wrk.headers["Content-Type"] = "application/json"
