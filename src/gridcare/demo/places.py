"""The fictional demo county's fixed vocabulary: its units, towns, roads, villages and institutions.

Everything here is invented (青岚省 / 白溪市 do not exist) but shaped like a real prefecture-level
supply company in the south-west: a county with a busy county town, a plain farming county and a
mountain county whose far villages count as 特殊边远 for repair time limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _words(text: str) -> list[str]:
    return text.split()


PROVINCE_NAME = "青岚省电力有限公司"
CITY_NAME = "白溪供电公司"
CITY_PLACE = "白溪市"
CITY_DISTRICTS = ["溪城区", "新区", "经开区"]


@dataclass(frozen=True)
class StationPlan:
    name: str  # 供电所 short name, e.g. "城关"
    town: str  # the 镇/乡/街道 it serves
    profile: str  # "urban" (county town), "rural" (farming township), "mountain"
    feeders: int


@dataclass(frozen=True)
class CountyPlan:
    name: str  # e.g. "溪北县"
    company: str  # e.g. "溪北县供电公司"
    id_region: str  # 6-digit region code used in generated ID numbers (fictional)
    landline_prefix: str  # area code + exchange for generated landlines
    stations: list[StationPlan] = field(default_factory=list)


COUNTIES = [
    CountyPlan(
        name="溪北县",
        company="溪北县供电公司",
        id_region="529121",
        landline_prefix="08597",
        stations=[
            StationPlan("城关", "城关镇", "urban", 10),
            StationPlan("城东", "东城街道", "urban", 10),
            StationPlan("城西", "西城街道", "urban", 9),
            StationPlan("石桥", "石桥镇", "rural", 7),
            StationPlan("河口", "河口镇", "rural", 7),
            StationPlan("柳溪", "柳溪乡", "rural", 6),
            StationPlan("马场", "马场镇", "rural", 7),
            StationPlan("龙潭", "龙潭镇", "rural", 7),
        ],
    ),
    CountyPlan(
        name="石门县",
        company="石门县供电公司",
        id_region="529122",
        landline_prefix="08596",
        stations=[
            StationPlan("石门", "石门镇", "urban", 10),
            StationPlan("新桥", "新桥街道", "urban", 9),
            StationPlan("白沙", "白沙镇", "rural", 7),
            StationPlan("青龙", "青龙镇", "rural", 7),
            StationPlan("双河", "双河乡", "rural", 6),
            StationPlan("黄土坡", "黄土坡镇", "rural", 7),
            StationPlan("洪渡", "洪渡镇", "rural", 7),
        ],
    ),
    CountyPlan(
        name="云雾山县",
        company="云雾山县供电公司",
        id_region="529123",
        landline_prefix="08595",
        stations=[
            StationPlan("云雾", "云雾镇", "urban", 9),
            StationPlan("高岩", "高岩乡", "mountain", 7),
            StationPlan("金竹", "金竹乡", "mountain", 6),
            StationPlan("大坪", "大坪镇", "mountain", 7),
            StationPlan("雷公山", "雷公山乡", "mountain", 6),
        ],
    ),
]

# Feeder names: "10kV东风线". Drawn without repetition within a substation.
FEEDER_WORDS = _words(
    "东风 红星 前进 新华 建设 胜利 和平 团结 光明 幸福 人民 工业 朝阳 凤凰 龙泉 青山 石桥 白沙 金竹 桃园 "
    "柳林 长征 兴隆 丰收 迎宾 滨河 环城 开发 园区 水厂 矿山 茶园 大坝 高坡 松林 梨树 花溪 清水 黄金 银河 "
    "太平 永安 民主 向阳 红岩 新村 河滨 学府 城北 城南 城东 城西 纺织 水泥 化工 冶炼 机场 火车站 沙坝 响水"
)

# Roads of the county towns.
ROAD_WORDS = _words(
    "建设 人民 解放 中山 文化 新华 环城 滨河 民族 育才 府前 青年 和平 胜利 光明 幸福 振兴 朝阳 长征 红旗 "
    "东风 迎宾 兴业 学府 金海 锦江 桂花 翠柳 观山 白溪 北京 延安 南门 北门 西门 东门 体育 公园 沿河 凤凰"
)
ROAD_SUFFIXES = ["路", "路", "路", "街", "大道", "巷"]

COMMUNITY_WORDS = _words(
    "阳光 金色 锦绣 幸福里 翠湖 水岸 世纪 名都 丽景 书香 山水 御景 龙湾 丹桂 盛世 碧桂 兴隆 福康 "
    "和谐 康居 馨怡 江南 滨江 宏泰 华府 时代 紫荆 香樟 云顶 东方"
)
COMMUNITY_SUFFIXES = ["小区", "花园", "苑", "家园", "新村"]

VILLAGE_FIRST = _words(
    "红 新 龙 石 黄 白 高 马 杨 金 银 花 桃 柳 青 双 大 小 上 下 中 长 安 兴 和 平 胜 团 光 明 茶 竹 松 牛 鹿 凤 岩 沙"
)
VILLAGE_SECOND = _words(
    "星 田 坝 坪 岩 沟 湾 桥 塘 寨 坡 岭 山 溪 河 堡 庄 园 林 屯 口 坎 台 场 丰 联 光 湖 滩 垭"
)
MOUNTAIN_GROUPS = _words(
    "大坪 小坪 岩脚 坡头 垭口 水井 老寨 新寨 上寨 下寨 湾里 槽子 冲头 山顶 半坡 竹林 杉木 核桃"
)

# Institutions that are 重要客户 (first/second class load): per county, then per town.
KEY_CUSTOMERS_COUNTY = [
    ("{county}人民医院", 1, 800),
    ("{county}中医院", 1, 500),
    ("{county}妇幼保健院", 1, 315),
    ("{county}自来水公司第一水厂", 1, 630),
    ("{county}污水处理厂", 2, 400),
    ("{county}人民政府", 2, 315),
    ("{county}公安局", 2, 250),
    ("{county}第一中学", 2, 315),
    ("{county}广播电视台", 2, 200),
    ("中国移动{county}分公司枢纽机房", 2, 250),
    ("{county}燃气有限公司", 2, 160),
    ("{county}看守所", 1, 200),
]
KEY_CUSTOMERS_TOWN = [
    ("{town}卫生院", 2, 100),
    ("{town}人民政府", 2, 100),
    ("{town}水厂", 2, 125),
    ("{town}中心学校", 3, 100),
]

SHOP_KINDS = _words(
    "超市 副食店 餐馆 酒楼 五金店 建材店 汽修厂 药店 诊所 理发店 农资店 粮油店 茶楼 宾馆 网吧 "
    "幼儿园 快递站 家电商场 服装店 烟酒店 火锅店 米粉店 加工厂 木材加工厂 洗车场 驾校"
)
INDUSTRIES = _words("水泥 铁合金 化工 硅业 新型建材 矿业 冶炼 食品 酒业 茶业 制药 纸业 电子 磷化工")
FARMS = _words("养殖场 茶园 种植专业合作社 蔬菜基地 提灌站 烤烟房 养猪场 果园 苗圃 水产养殖场")
PUBLIC_KINDS = ["村民委员会", "村卫生室", "小学", "路灯", "通信基站", "污水处理站", "敬老院", "农贸市场"]

SENSITIVE_NOTES = [
    "多次投诉电压低，曾向12398反映，处理须谨慎",
    "媒体从业人员，关注停电信息发布",
    "对电费计量有异议，情绪易激动",
    "曾越级上访，沟通须留痕",
    "律师，维权意识强，答复须有依据",
    "县人大代表，诉求须优先跟进",
    "曾因停电损失提出索赔",
    "网络投诉活跃，曾在微博发布投诉",
]

CONTACT_RELATIONS = [
    "儿子",
    "女儿",
    "配偶",
    "儿媳",
    "女婿",
    "孙子",
    "邻居",
    "村干部",
    "财务",
    "电工",
    "负责人",
]
