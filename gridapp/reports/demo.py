"""Demo reports from the source report: the burst pipe at the south gate fixed in three hours by the
property company and the water company, a toppled signal light replaced in three days, rubbish in a
green belt, icy pavements, blocked fire lanes, an 80-year-old couple's haircut at home …, in every
state, with before/after photos drawn here (no downloads) and stored through the real pipeline.

``seed_reports(rng, staff, volunteers, now)`` goes through the report services, so points, timeline
and files are exactly what the app would make. Dates are derived from ``now``: the same story on any day.
"""
import io
import random
from datetime import timedelta

from PIL import Image, ImageDraw

from ..clock import to_local
from ..extensions import db
from . import service as reports
from .models import PartnerUnit, Report

PARTNERS = [
    ("迪祥佳苑物业服务中心", "property", "艾力努尔·拜克力", "0994-5821234"),
    ("三坪供水有限公司", "water", "吐尔逊·艾买提", "0994-5821400"),
    ("三坪供电服务站", "power", "何卫东", "0994-5821600"),
    ("三坪燃气服务站", "gas", "杨军", "0994-5821500"),
    ("十二师城市管理综合行政执法支队二大队", "other", "贺晨阳", "0994-5821700"),
]

SIZE = (800, 600)


def _scene(kind: str, after: bool, rng: random.Random) -> bytes:
    """A simple picture of the problem (or of it fixed), as a phone would send: a JPEG."""
    w, h = SIZE
    image = Image.new("RGB", SIZE, (150, 150, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, w, h // 3], fill=(170, 200, 230))  # sky
    draw.rectangle([0, h // 3, w, h], fill=(120, 120, 125))  # road
    if kind == "road":
        if after:
            draw.rectangle([w // 4, h // 2, w * 3 // 4, h * 3 // 4], fill=(60, 60, 65))  # new asphalt
        else:
            points = [(w // 4 + i * w // 12, h // 2 + rng.randint(-30, 60)) for i in range(7)]
            draw.line(points, fill=(35, 35, 35), width=9)
            draw.ellipse([w // 2 - 70, h // 2 + 40, w // 2 + 90, h // 2 + 120], fill=(70, 60, 50))
    elif kind == "pipe":
        draw.rectangle([0, h * 2 // 3, w, h * 2 // 3 + 30], fill=(90, 80, 70))
        if not after:
            draw.ellipse([w // 5, h // 2, w * 4 // 5, h - 20], fill=(150, 200, 235))  # water on the road
            draw.ellipse([w // 3, h * 3 // 5, w * 2 // 3, h - 50], fill=(235, 245, 250))  # ice
        else:
            draw.rectangle([w // 3, h * 2 // 3 - 10, w * 2 // 3, h * 2 // 3 + 40], fill=(40, 90, 160))  # new pipe
    elif kind == "light":
        draw.rectangle([0, 0, w, h // 3], fill=(25, 30, 60) if not after else (170, 200, 230))
        if after:
            draw.rectangle([w // 2 - 10, h // 6, w // 2 + 10, h * 5 // 6], fill=(50, 50, 50))
            for i, colour in enumerate(((220, 40, 40), (240, 200, 30), (40, 180, 70))):
                draw.ellipse([w // 2 + 15, h // 6 + i * 40, w // 2 + 50, h // 6 + i * 40 + 35], fill=colour)
        else:
            draw.polygon([(w // 3, h * 5 // 6), (w // 3 + 20, h * 5 // 6), (w * 3 // 4, h * 2 // 3),
                          (w * 3 // 4 - 10, h * 2 // 3 - 15)], fill=(50, 50, 50))  # the pole on the ground
    elif kind == "parking":
        draw.rectangle([0, h // 2, w, h // 2 + 40], fill=(230, 200, 40))  # fire lane marking
        if not after:
            for x in (w // 8, w // 2):
                draw.rounded_rectangle([x, h // 2 - 40, x + 220, h // 2 + 70], radius=20,
                                       fill=(rng.randint(60, 200), 40, rng.randint(60, 200)))
    elif kind == "ice":
        draw.rectangle([0, h // 3, w, h], fill=(235, 240, 245) if not after else (110, 110, 115))
        if after:
            draw.rectangle([0, h // 3, w // 6, h], fill=(240, 245, 250))  # snow piled at the side
    elif kind == "green":
        draw.rectangle([0, h // 3, w, h], fill=(70, 140, 70))
        if not after:
            for _ in range(25):
                x, y = rng.randint(0, w - 30), rng.randint(h // 3, h - 30)
                draw.rectangle([x, y, x + rng.randint(10, 30), y + rng.randint(8, 20)],
                               fill=(rng.randint(150, 255), rng.randint(150, 255), rng.randint(150, 255)))
        else:
            draw.rectangle([w - 120, h // 2, w - 60, h // 2 + 90], fill=(30, 110, 60))  # a new bin
    elif kind == "home":
        image.paste((225, 205, 175), (0, 0, w, h))
        draw.rectangle([w // 3, h // 4, w * 2 // 3, h * 3 // 4], fill=(200, 170, 130))
        if after:
            draw.ellipse([w // 2 - 50, h // 3, w // 2 + 50, h // 3 + 100], fill=(120, 90, 70))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


# (category, scene, description, place or building, partner index, hours to solve or None, final state, consent)
STORIES = [
    ("pipe", "pipe", "南门附近下水管道突然漏水，水从地下不断涌出，路面已经结冰，一单元用水受影响。",
     ("", "南门岗亭东侧"), 1, 3, "solved", True),
    ("light", "light", "奋进路十字路口的信号灯被撞倒在路边，附近有学校和居民区，人流量大。",
     ("", "奋进路与团结路交叉口"), 4, 72, "solved", True),
    ("hazard_other", "green", "停车位后面的绿化带里有很多垃圾，车主清理车内垃圾时随手丢弃。",
     ("7", ""), 0, 26, "solved", True),
    ("ice", "ice", "北门人行道积雪结冰，老人出门容易滑倒。", ("", "北门至团结路人行道"), 0, 5, "solved", True),
    ("parking", "parking", "两辆私家车长期停在消防通道上，救护车进不来。", ("9", ""), 0, 20, "solved", True),
    ("road", "road", "小区中心广场东侧路面破损，有一个大坑，晚上看不见。", ("", "中心广场东侧"), 0, 96, "solved", True),
    ("visit", "home", "80岁的祁生勇老人和老伴想理发，雪天路滑出不了门。", ("6", ""), None, 30, "solved", True),
    ("repair", "home", "独居老人家里水龙头坏了，一直滴水。", ("3", ""), 0, 8, "solved", False),
    ("road", "road", "2栋楼前人行道地砖松动，已经有人绊倒。", ("2", ""), 0, None, "in_progress", True),
    ("light", "light", "11栋北侧路灯晚上不亮，巡逻时发现。", ("11", ""), 2, None, "accepted", True),
    ("pipe", "pipe", "地下车库入口有燃气味，请尽快查看。", ("", "地下车库入口"), 3, None, "overdue", True),
    ("shopping", "home", "独居老人希望每周有人帮忙买米面和蔬菜。", ("4", ""), None, None, "new", False),
    ("ice", "ice", "南门台阶结冰很滑。", ("", "南门台阶"), None, None, "new", True),
    ("parking", "parking", "有电动车停在楼道里充电，有安全隐患。", ("5", ""), None, None, "declined", True),
]
BACKGROUND_PER_MONTH = 5  # older, text-only solved reports, so the wall's monthly figures look like a real place
BACKGROUND = [("road", "人行道地砖破损。"), ("parking", "车辆占用消防通道。"), ("light", "路灯不亮。"),
              ("ice", "楼前路面结冰。"), ("hazard_other", "楼道堆放杂物。"), ("pipe", "绿化带水管漏水。")]


def seed_reports(rng: random.Random, staff, volunteers: list, now) -> int:
    """Partner units, and reports in every state with photos; returns the reports added (0 if any exist)."""
    for name, kind, contact, phone in PARTNERS:
        if PartnerUnit.query.filter_by(name=name).first() is None:
            db.session.add(PartnerUnit(name=name, kind=kind, contact_name=contact, phone=phone))
    db.session.flush()
    if Report.query.first() is not None:
        return 0
    partners = PartnerUnit.query.order_by(PartnerUnit.id).all()
    by_name = {p.name: p for p in partners}
    partner_list = [by_name[name] for name, *_ in PARTNERS]
    demo_volunteer = next((v for v in volunteers if v.name == "蒋生军"), volunteers[0])
    added = 0

    def walk(category, scene, description, where, partner, hours, state, consent, reporter, created, photos=True):
        building, place = where
        report = reports.submit(reporter, category=category, description=description, building=building or None,
                                place=place, photos=[_scene(scene, False, rng)] if photos else [],
                                wall_consent=consent, now=created)
        if state == "new":
            return report
        if state == "declined":
            reports.decline(staff, report, "已由物业统一安装充电棚，楼道充电另行整治", created + timedelta(hours=2))
            return report
        accepted_at = created + timedelta(minutes=rng.randint(10, 50)) if hours is None or hours > 1 else created
        due = to_local(accepted_at).date() + timedelta(days=1 if state == "overdue" else 3)
        reports.accept(staff, report, assignee=staff if partner is None else None,
                       partner=partner_list[partner] if partner is not None else None, due_on=due,
                       note="已通知相关单位" if partner is not None else "网格员跟进",
                       today=to_local(accepted_at).date(), now=accepted_at)
        if state in ("accepted", "overdue"):
            return report
        reports.start(staff, report, "已到现场", accepted_at + timedelta(minutes=20))
        if state == "solved":
            reports.solve(staff, report, resolution=RESOLUTIONS.get(description, "已处理完毕。"),
                          photos=[_scene(scene, True, rng)] if photos else [], now=created + timedelta(hours=hours))
        return report

    # Scripted stories over the last weeks; the demo volunteer (蒋生军) reported two of them on patrol.
    for index, (category, scene, description, where, partner, hours, state, consent) in enumerate(STORIES):
        reporter = demo_volunteer if index in (0, 9) else rng.choice(volunteers)
        days_ago = {"solved": 6 + index * 3, "in_progress": 3, "accepted": 1, "overdue": 4, "new": 0,
                    "declined": 2}[state]
        created = now - timedelta(days=days_ago, hours=rng.randint(1, 6))
        if state == "new":
            created = now - timedelta(hours=index - 9)
        walk(category, scene, description, where, partner, hours, state, consent, reporter, created)
        added += 1
    # Text-only reports from the previous five months.
    for month in range(1, 6):
        for n in range(BACKGROUND_PER_MONTH + rng.randint(0, 3)):
            category, description = rng.choice(BACKGROUND)
            created = now - timedelta(days=30 * month + rng.randint(0, 25), hours=rng.randint(0, 12))
            walk(category, "road", description, (str(rng.randint(1, 11)), ""), rng.randrange(len(partner_list)),
                 rng.choice((4, 10, 30, 50, 80, 120)), "solved", True, rng.choice(volunteers), created,
                 photos=False)
            added += 1
    db.session.flush()
    return added


RESOLUTIONS = {
    STORIES[0][2]: "网格党支部启动“联席共建解民忧”机制，物业和自来水公司人员赶到现场，确认是自来水管道爆裂，"
                   "经过3个多小时抢修修好，居民楼恢复供水，路面冰层已清除。",
    STORIES[1][2]: "立即与交管部门联系；因没有备用信号灯需重新采购，第三天换上新的信号灯并加固。",
    STORIES[2][2]: "责任单位已清理，增加垃圾桶点位，并张贴环保提示。",
    STORIES[3][2]: "物业组织扫雪除冰，人行道已撒融雪剂。",
    STORIES[4][2]: "联系车主挪车，消防通道重新划线并设置禁停标志。",
    STORIES[5][2]: "物业修补路面，坑已填平。",
    STORIES[6][2]: "联系“小雨点义剪”志愿者理发师上门为两位老人理发。",
    STORIES[7][2]: "红色管家服务队上门更换水龙头。",
}
