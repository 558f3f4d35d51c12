"""Schedule open duty sessions for bench/checkin_throughput.py, through the app's own duty service.

Run with the venv's python against the benchmark's throwaway instance (GRIDAPP_INSTANCE_PATH and
GRIDAPP_DATABASE_URL in the environment); never against a real instance. Each session is open to
everyone (no team), has no capacity, and its check-in window is open now and for the next hours, so
every (volunteer, session) pair is a first, real check-in. Prints JSON: the new session ids.

    GRIDAPP_INSTANCE_PATH=... GRIDAPP_DATABASE_URL=sqlite:///... .venv/bin/python bench/checkin_setup.py 12
"""
import json
import sys
from datetime import timedelta

from gridapp import create_app
from gridapp.auth.models import User
from gridapp.clock import utcnow
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db

STAFF_PHONE = "13800000002"  # the demo grid worker (贾亮)
DUTY_TYPE = "安全巡逻"


def main(count: int) -> int:
    app = create_app()
    with app.app_context():
        staff = User.query.filter_by(phone=STAFF_PHONE).one()
        duty_type = DutyType.query.filter_by(name=DUTY_TYPE).one()
        starts_at = utcnow() - timedelta(minutes=10)
        ids = []
        for number in range(1, count + 1):
            [session] = duty.schedule(staff, duty_type=duty_type, title=f"压测签到 {number}", place="B区南门岗亭",
                                      starts_at=starts_at, ends_at=starts_at + timedelta(hours=3),
                                      capacity=None, team=None)
            ids.append(session.id)
        db.session.commit()
    print(json.dumps({"sessions": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
