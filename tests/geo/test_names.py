from geo.names import leading_article, normalise_name, official_name


def test_accents_case_hyphens_apostrophes_and_saint_do_not_matter():
    assert normalise_name("Château-Thierry") == normalise_name("chateau thierry") == "chateau thierry"
    assert normalise_name("Saint-Quentin") == normalise_name("st quentin") == normalise_name("ST-QUENTIN")
    assert normalise_name("Sainte-Menehould") == normalise_name("ste menehould")
    assert normalise_name("L'Haÿ-les-Roses") == "hay les roses"
    assert normalise_name("Œuilly") == "oeuilly"


def test_leading_article_is_dropped_but_remembered():
    assert normalise_name("L'Abergement-Clémenciat") == normalise_name("abergement clemenciat")
    assert normalise_name("La Fère") == "fere"
    assert leading_article("la fere") == "la"
    assert leading_article("l abergement") == "l"
    assert leading_article("Laon") is None
    # A word alone is not an article to drop: "la" may begin "Laon".
    assert normalise_name("la") == "la"


def test_official_name_puts_back_the_article_of_the_cog():
    assert official_name("Havre", "2") == "Le Havre"
    assert official_name("Fère", "3") == "La Fère"
    assert official_name("Abergement-Clémenciat", "5") == "L'Abergement-Clémenciat"
    assert official_name("Laon", "0") == "Laon"
    assert official_name("Laon", None) == "Laon"
