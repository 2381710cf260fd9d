"""One blueprint per area."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from tracker.web.views import admin, agency, agreements, auth, breaches, home, reviews

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(home.health)  # /healthz (issue 20)
    app.register_blueprint(agreements.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(reviews.bp)
    app.register_blueprint(breaches.bp)
    app.register_blueprint(agency.bp)
    from tracker.web.views import decisions, outbox
    app.register_blueprint(outbox.bp)
    app.register_blueprint(decisions.bp)
    from tracker.web.views import service
    app.register_blueprint(service.bp)
    from tracker.web.views import closure
    app.register_blueprint(closure.bp)
    # Adoption (issue 14): single sign-on, import, subject access, retention.
    from tracker.web.views import imports, retention, sar, sso
    app.register_blueprint(sso.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(sar.bp)
    app.register_blueprint(retention.bp)
    # The family's own copy (R20): the family's pages by their link, and the worker's page for the links.
    from tracker.web.views import family
    app.register_blueprint(family.bp)
    app.register_blueprint(family.staff)
    from tracker.web.views import drafts, tasks
    app.register_blueprint(drafts.bp)
    app.register_blueprint(tasks.bp)
    from tracker.web.views import public  # accessibility statement, privacy notice, cookies
    app.register_blueprint(public.bp)
