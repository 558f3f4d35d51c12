"""gunicorn's settings for gridapp: ``gunicorn -c gunicorn_config.py --workers 2 --bind … wsgi:app``
(``make run`` does). Named so that gunicorn reads it only when told to (it would read a
``gunicorn.conf.py`` by itself), so the servers tests start stay as quick to start as before.

Each worker, once it has loaded the app and before it takes its first request, warms PDFs up
(gridapp.pdf.warm_up: WeasyPrint, the fonts, the stylesheets; ~0.6 s of CPU per worker start), so
the first receipt a worker prints is as quick as the next; what it loaded is then frozen out of the
garbage collector's full collections (gc.freeze), which otherwise walk it all every few PDFs. The
``flask`` CLI and the tests never run this. A worker that cannot warm up (no Chinese font, any error)
logs why and serves anyway.
"""


def post_worker_init(worker):
    from gridapp.pdf import warm_up

    result = warm_up(worker.wsgi, freeze=True)
    if result["warmed"]:
        worker.log.info("PDFs warmed up in %.2f s", result["seconds"])
    else:
        worker.log.warning("PDFs not warmed up: %s", result["reason"])
