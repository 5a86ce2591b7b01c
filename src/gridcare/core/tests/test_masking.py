from gridcare.core.masking import mask_address, mask_id_number, mask_name, mask_phone


def test_phone_is_masked_like_138_stars_1234():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("") == ""


def test_id_number_keeps_region_and_last_four():
    assert mask_id_number("520102198001011234") == "520102********1234"


def test_names_and_addresses():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳明月") == "欧**月"
    assert mask_name("贵阳某某机械制造有限公司") == "贵阳某某机械制造有限公司"
    masked = mask_address("城关镇东风路18号3单元")
    assert masked.startswith("城关镇东风") and "18号" not in masked
