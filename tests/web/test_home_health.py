from web.settings import Settings, documented


def test_home_lists_counts_by_spie_thematic_and_demo_label(client, db):
    from catalogue import demo

    demo.load(db, n_structures=30, n_services=120, seed=3)
    page = client.get("/").get_data(as_text=True)
    assert "Les dix thématiques du SPIE" in page
    assert "Données de démonstration" in page
    assert "Mobilité" in page and "Garde d&#39;enfant" in page
    assert "120 offres" in page


def test_healthz_reports_database_and_search(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["search"]["status"] == "ok"
    assert body["outbox"]["status"] == "ok" and body["outbox"]["rows"] == 0


def test_every_setting_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for env, doc, _default in documented():
        assert doc, f"{env} n'a pas de description"
        assert f"`{env}`" in readme, f"{env} manque dans le README"


def test_settings_from_environment():
    s = Settings.from_env({"SEARCH_BACKEND": "meilisearch", "DEFAULT_RADIUS_KM": "30", "SMTP_TLS": "oui"})
    assert s.search_backend == "meilisearch" and s.default_radius_km == 30 and s.smtp_tls is True


def test_unknown_page_is_a_french_404(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
