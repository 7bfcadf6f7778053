"""What gunicorn serves in tests/outside: Gerai configured from GERAI_TEST_CONFIG (JSON),
its loggers writing to stderr with their level (gunicorn's error log), as a deployment's."""

import faulthandler
import json
import logging
import os
import signal

from storefront import create_app


def app():
    # `Gunicorn.dump_threads()`: where each thread is, when a request gets no answer.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return create_app(json.loads(os.environ["GERAI_TEST_CONFIG"]))
