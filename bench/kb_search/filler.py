"""Generated filler articles: the local notices a real knowledge base piles up next to the
standard answers (planned outages by transformer area, hall addresses, grid managers, local
projects, EV charger batches, key-customer billing notes …). They share the vocabulary of the real
articles (停电, 营业厅, 电费, 充电桩, 抢修 …) so they are honest distractors for ranking.
"""

from __future__ import annotations

import datetime as dt
import random

TOWNS = [
    "城关",
    "东城",
    "西城",
    "石桥",
    "河口",
    "柳溪",
    "马场",
    "龙潭",
    "石门",
    "新桥",
    "白沙",
    "青龙",
    "双河",
    "黄土坡",
    "洪渡",
    "云雾",
    "高岩",
    "金竹",
    "大坪",
    "雷公山",
]
VILLAGES = [
    "杨柳",
    "桃园",
    "李家",
    "张家",
    "王庄",
    "新民",
    "红星",
    "光明",
    "胜利",
    "团结",
    "丰收",
    "和平",
    "长岭",
    "松林",
    "梨树",
    "花溪",
    "清水",
    "沙坝",
    "响水",
    "茶园",
]
LINES = [
    "东风",
    "红星",
    "前进",
    "新华",
    "建设",
    "胜利",
    "和平",
    "团结",
    "光明",
    "幸福",
    "人民",
    "工业",
    "朝阳",
    "凤凰",
    "龙泉",
    "青山",
    "桃园",
    "柳林",
    "长征",
    "兴隆",
]
ESTATES = [
    "锦绣花园",
    "阳光新城",
    "滨河苑",
    "金桂园",
    "翠湖湾",
    "书香门第",
    "幸福里",
    "世纪华庭",
    "碧水蓝天",
    "学府佳苑",
]
FIRMS = [
    "兴隆水泥厂",
    "青山茶叶加工厂",
    "永安纺织",
    "白溪化工",
    "金竹矿业",
    "龙泉酒业",
    "新华印务",
    "朝阳食品",
    "长征机械",
    "凤凰建材",
]
NAMES = [
    "张伟",
    "王芳",
    "李强",
    "刘洋",
    "陈静",
    "杨勇",
    "赵敏",
    "黄磊",
    "周杰",
    "吴霞",
    "徐涛",
    "孙丽",
    "马俊",
    "朱琳",
    "胡斌",
]
WORKS = ["线路检修", "变压器增容改造", "配网自动化改造", "杆塔迁移", "树障清理", "农网升级改造", "电缆迁改"]


def _date(rng: random.Random) -> dt.date:
    return dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 700))


def _outage(rng, n):
    town, village, line = rng.choice(TOWNS), rng.choice(VILLAGES), rng.choice(LINES)
    day = _date(rng)
    work = rng.choice(WORKS)
    title = f"{town}镇{village}村{n % 9 + 1}号台区{day.month}月{day.day}日计划停电安排"
    phrasings = [f"{village}村{day.month}月{day.day}号停电吗", f"{town}{village}停电到几点"]
    answer = (
        f"因10kV{line}线{work}，{day:%Y年%m月%d日} 8:00—18:00 {town}镇{village}村{n % 9 + 1}号台区停电，"
        f"影响{village}村{rng.randint(1, 9)}组、{rng.randint(1, 9)}组约{rng.randint(40, 400)}户。如遇雨天顺延，"
        "提前完工即恢复送电，请视同带电。"
    )
    return title, phrasings, answer, "outage.notice"


def _hall(rng, n):
    town = rng.choice(TOWNS)
    title = f"{town}供电所营业厅（第{n % 7 + 1}服务点）地址和营业时间"
    phrasings = [f"{town}营业厅在哪", f"{town}交电费的地方"]
    answer = (
        f"{town}供电所营业厅位于{town}镇{rng.choice(LINES)}路{rng.randint(1, 200)}号，营业时间8:30—17:30，"
        f"节假日照常营业，可办理缴费、新装、过户等业务，联系电话0859{rng.randint(1000000, 9999999)}。"
    )
    return title, phrasings, answer, "service.hall"


def _manager(rng, n):
    town, village = rng.choice(TOWNS), rng.choice(VILLAGES)
    name = rng.choice(NAMES)
    title = f"{town}镇{village}村台区网格客户经理{name}的联系方式"
    phrasings = [f"{village}村电工电话", f"{village}村的客户经理是谁"]
    answer = (
        f"{village}村{n % 5 + 1}号、{n % 5 + 2}号台区的网格客户经理为{name}，手机139{rng.randint(10000000, 99999999)}，"
        "负责台区内抄表催费、故障协助和用电咨询。"
    )
    return title, phrasings, answer, "service.hall"


def _project(rng, n):
    town = rng.choice(TOWNS)
    year = rng.choice([2024, 2025])
    title = f"{year}年{town}镇农网改造工程（第{n % 12 + 1}批）施工公告"
    phrasings = [f"{town}电网改造什么时候完工", f"{town}换电线杆施工"]
    answer = (
        f"{year}年{town}镇第{n % 12 + 1}批农网改造工程涉及{rng.randint(2, 9)}个台区，更换导线{rng.randint(3, 40)}公里、"
        f"新立电杆{rng.randint(10, 200)}基，预计{rng.randint(1, 12)}月完工。施工期间部分时段停电，具体以停电公告为准。"
    )
    return title, phrasings, answer, "outage.notice"


def _charger(rng, n):
    estate = rng.choice(ESTATES)
    title = f"{estate}小区第{n % 20 + 1}批居民充电桩集中报装安排"
    phrasings = [f"{estate}充电桩怎么装", f"{estate}车位装充电桩排到哪了"]
    answer = (
        f"{estate}小区地下车库第{n % 20 + 1}批充电桩报装共{rng.randint(10, 80)}户，已完成现场勘查，"
        f"预计{rng.randint(1, 28)}日内完成装表接电。新增申请请通过网上国网提交。"
    )
    return title, phrasings, answer, "biz.pv"


def _firm(rng, n):
    firm = rng.choice(FIRMS)
    quarter = n % 4 + 1
    title = f"{firm}（专变客户）{2024 + n % 2}年第{quarter}季度基本电费计费方式确认"
    phrasings = [f"{firm}基本电费", f"{firm}需量核定"]
    answer = (
        f"{firm}受电容量{rng.choice([315, 400, 630, 800, 1250])}千伏安，第{quarter}季度基本电费按"
        f"{rng.choice(['变压器容量', '合同最大需量'])}计收，核定值已由客户经理书面确认。"
    )
    return title, phrasings, answer, "tariff.business"


def _arrears(rng, n):
    town = rng.choice(TOWNS)
    month = n % 12 + 1
    title = f"{town}供电所{month}月电费回收与欠费停电复电安排（第{n % 30 + 1}期）"
    phrasings = [f"{town}{month}月催费", f"{town}欠费停电名单"]
    answer = (
        f"{town}供电所{month}月共有{rng.randint(10, 300)}户逾期未缴，已送达催费通知；"
        "请于缴费期限内通过网上国网、微信或营业厅缴清，缴清后24小时内复电。"
    )
    return title, phrasings, answer, "arrears.reconnect"


MAKERS = [_outage, _outage, _outage, _hall, _manager, _project, _charger, _firm, _arrears]


def generate(count: int, seed: int = 20251101):
    """Yield (number, title, phrasings, answer, category_code) for ``count`` filler articles."""
    rng = random.Random(seed)
    for n in range(count):
        title, phrasings, answer, category = rng.choice(MAKERS)(rng, n)
        yield f"FILL{n + 1:06d}", title, phrasings, answer, category
