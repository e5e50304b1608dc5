"""Lists of places in the order a Vietnamese reader looks for them."""

from broadcaster.domain.collation import folded, sort_key


def test_vietnamese_letters_tones_and_numbers_sort_as_in_a_dictionary() -> None:
    # The alphabet as taught in Vietnamese schools: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y.
    shuffled = ["Xã Tây", "Thôn 10", "Xã Đông", "Ấp Ân", "Thôn 2", "Xã Dương", "Ấp Ăn", "Ấp An", "Ưng Hòa", "Uông Bí"]
    assert sorted(shuffled, key=sort_key) == ["Ấp An", "Ấp Ăn", "Ấp Ân", "Thôn 2", "Thôn 10", "Uông Bí", "Ưng Hòa",
                                              "Xã Dương", "Xã Đông", "Xã Tây"]
    # Tones only break ties, in the dictionary's order: ngang, huyền, hỏi, ngã, sắc, nặng.
    assert sorted(["má", "mạ", "mà", "mã", "ma", "mả"], key=sort_key) == ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted(["Mỹ Lợi", "My Lai"], key=sort_key) == ["My Lai", "Mỹ Lợi"], "letters before tones"


def test_a_search_typed_without_accents_finds_the_name() -> None:
    assert folded("Đông") in folded("Cụm loa Thôn Đông 2") == "cum loa thon dong 2"
    assert folded("HÒA") == folded("hoa")
