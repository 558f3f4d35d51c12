"""The baseline for bench/throughput.py: the least a Flask app can do under the same gunicorn."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "hello"
