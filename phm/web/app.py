"""`phm serve`: the neighbourhood team's page over the published warehouse (Starlette + Jinja2, read-only).

Every page that shows patients sits under /n/<neighbourhood-slug>/ and is served only to a signed-in user bound to
that neighbourhood (config/users.yaml); any other neighbourhood's URL gets 403 whatever is typed. The warehouse is
read through a cursor per request on the file the path names now (phm.warehouse.PublishedReader), so the page
keeps answering while a refresh publishes and shows the new data from the next request on.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import duckdb
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from phm import audit, lists, users
from phm.lists import slugify
from phm.warehouse import IdentityMissing, PublishedReader, WarehouseMissing, published_refresh
from phm.web import charts

HERE = Path(__file__).parent
PAGE_SIZE = 25
SESSION_HOURS = 8


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    users_file: Path
    audit_log: Path
    secret_key: str


def filters_from_query(params: Mapping[str, str]) -> lists.ListFilters:
    """Only whitelisted values become filters; anything else is ignored rather than queried."""
    core20 = {"yes": True, "no": False}.get(params.get("core20", ""))
    rag = params.get("rag") if params.get("rag") in lists.RAG_VALUES else None
    tier = params.get("tier") if params.get("tier") in lists.TIER_VALUES else None
    return lists.ListFilters(
        practice=params.get("practice") or None,
        rag=rag,
        tier=tier,
        core20=core20,
        ethnicity=params.get("ethnicity") or None,
        age_band=params.get("age_band") or None,
        new_only=params.get("new_only") == "yes",
    )


def create_app(settings: Settings) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["slug"] = slugify

    def render(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
        # Pages show patients: no browser or proxy may keep a copy.
        return templates.TemplateResponse(
            request,
            name,
            {"user": current_user(request), **context},
            status_code=status_code,
            headers={"Cache-Control": "no-store"},
        )

    def current_user(request: Request) -> users.User | None:
        username = request.session.get("username")
        # Looked up on every request: removing someone from the users file ends their access at once.
        return users.lookup(settings.users_file, username) if username else None

    readers = {identity: PublishedReader(settings.warehouse, identity=identity) for identity in (False, True)}

    def reader(identity: bool = False) -> duckdb.DuckDBPyConnection:
        try:
            return readers[identity].cursor()
        except (WarehouseMissing, IdentityMissing) as e:
            raise HTTPException(503, str(e)) from e

    def authorise(request: Request) -> users.User:
        """The signed-in user, if the neighbourhood in the URL is theirs; otherwise sign-in or 403."""
        user = current_user(request)
        if user is None:
            raise HTTPException(303, headers={"Location": f"/login?{urlencode({'next': request.url.path})}"})
        if request.path_params.get("slug") not in (None, slugify(user.neighbourhood)):
            raise HTTPException(
                403,
                f"You are signed in for {user.neighbourhood}. This page belongs to another "
                "neighbourhood, so it is not shown.",
            )
        return user

    async def login_page(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "login.html", {"error": None, "next": request.query_params.get("next", "/")})
        form = await request.form()
        username, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
        target = str(form.get("next") or "/")
        user = users.authenticate(settings.users_file, username, password)
        if user is None:
            return render(
                request,
                "login.html",
                {"error": "That username and password do not match.", "next": target},
                status_code=401,
            )
        request.session.clear()
        request.session["username"] = user.username
        # Only paths on this site: never redirect to a URL someone put in ?next=.
        return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", 303)

    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", 303)

    async def home(request: Request) -> Response:
        user = authorise(request)
        return RedirectResponse(f"/n/{slugify(user.neighbourhood)}", 303)

    async def neighbourhood_home(request: Request) -> Response:
        user = authorise(request)
        with reader() as con:
            catalogue = lists.list_catalogue(con, user.neighbourhood)
            refresh = published_refresh(con)
        return render(request, "home.html", {"catalogue": catalogue, "refresh": refresh})

    def list_context(request: Request, user: users.User) -> tuple:
        list_name = request.path_params["list_name"]
        filters = filters_from_query(request.query_params)
        sort = request.query_params.get("sort", "priority")
        if sort not in lists.SORT_ORDERS:
            sort = "priority"
        return list_name, filters, sort

    async def list_page(request: Request) -> Response:
        user = authorise(request)
        list_name, filters, sort = list_context(request, user)
        with reader() as con:
            catalogue = {entry["list_name"]: entry for entry in lists.list_catalogue(con, user.neighbourhood)}
            if list_name not in catalogue:
                raise HTTPException(404, f"There is no list called {list_name!r}.")
            total = lists.count_rows(con, user.neighbourhood, list_name, filters)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            try:
                page = min(max(1, int(request.query_params.get("page", "1"))), pages)
            except ValueError:
                page = 1
            columns, rows = lists.fetch_rows(
                con, user.neighbourhood, list_name, filters, sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            options = lists.filter_options(con, user.neighbourhood, list_name)
            practice_names = lists.practice_names(con, user.neighbourhood)
            moved = lists.movement(con, user.neighbourhood, list_name, filters.practice)
            refresh = published_refresh(con)
        query = {k: v for k, v in request.query_params.items() if k != "page" and v}
        return render(
            request,
            "list.html",
            {
                "entry": catalogue[list_name],
                "catalogue": list(catalogue.values()),
                "rows": [dict(zip(columns, r, strict=False)) for r in rows],
                "total": total,
                "page": page,
                "pages": pages,
                "page_size": PAGE_SIZE,
                "filters": filters,
                "sort": sort,
                "sort_labels": lists.SORT_LABELS,
                "options": options,
                "practice_names": practice_names,
                "movement": moved,
                "refresh": refresh,
                "query": query,
                "query_string": urlencode(query),
                "active_filters": filters.active(),
            },
        )

    async def download_csv(request: Request) -> Response:
        user = authorise(request)
        list_name, filters, sort = list_context(request, user)
        with reader(identity=True) as con:
            try:
                lists.check_names(con, user.neighbourhood, list_name)
            except lists.UnknownName:
                raise HTTPException(404, f"There is no list called {list_name!r}.") from None
            columns, rows = lists.fetch_rows(con, user.neighbourhood, list_name, filters, sort, identifiable=True)
            run_id = published_refresh(con).get("run_id")
        # Audited before the file is handed over: an export that cannot be logged is not made.
        audit.record_export(
            settings.audit_log,
            user=user.username,
            channel="web",
            neighbourhood=user.neighbourhood,
            list_name=list_name,
            filters=filters.active(),
            rows=len(rows),
            identifiable=True,
            run_id=run_id,
        )
        buffer = io.StringIO()
        lists.write_csv(buffer, columns, rows)
        filename = f"{list_name}_{slugify(user.neighbourhood)}.csv"
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )

    async def indicators_page(request: Request) -> Response:
        user = authorise(request)
        with reader() as con:
            catalogue = charts.indicator_catalogue(con, user.neighbourhood)
            known = [entry["indicator_id"] for entry in catalogue]
            indicator_id = request.query_params.get("indicator")
            if indicator_id not in known:
                best = max(catalogue, key=lambda e: e["cells_shown"], default=None)
                indicator_id = best["indicator_id"] if best else None
            cells = charts.indicator_cells(con, user.neighbourhood, indicator_id) if indicator_id else []
            refresh = published_refresh(con)
        specs = {key: charts.breakdown_chart(cells, key, label) for key, label in charts.BREAKDOWNS.items()}
        return render(
            request,
            "indicators.html",
            {
                "catalogue": catalogue,
                "indicator_id": indicator_id,
                "selected": next((e for e in catalogue if e["indicator_id"] == indicator_id), None),
                "cells": cells,
                "breakdowns": charts.BREAKDOWNS,
                "refresh": refresh,
                "specs_json": script_json({k: v for k, v in specs.items() if v is not None}),
                "caveat": charts.ROUNDING_CAVEAT,
            },
        )

    async def health(request: Request) -> Response:
        """For monitoring: which refresh is being served (no patient data)."""
        try:
            with readers[False].cursor() as con:
                refresh = published_refresh(con)
        except WarehouseMissing as e:
            return JSONResponse({"ok": False, "error": str(e)}, status_code=503)
        return JSONResponse({"ok": True, **{k: str(v) for k, v in refresh.items()}})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307):
            assert exc.headers is not None  # every redirect raised here names its Location
            return RedirectResponse(exc.headers["Location"], exc.status_code)
        return render(
            request, "error.html", {"status": exc.status_code, "detail": exc.detail}, status_code=exc.status_code
        )

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/health", health),
        Route("/n/{slug}", neighbourhood_home),
        Route("/n/{slug}/lists/{list_name}", list_page),
        Route("/n/{slug}/lists/{list_name}/download.csv", download_csv),
        Route("/n/{slug}/indicators", indicators_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="phm_session",
            max_age=SESSION_HOURS * 3600,
            same_site="lax",
        )
    ]
    # Starlette types every handler as taking any Exception, though it calls each with the class it is registered for
    handlers = {HTTPException: http_error}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for each in readers.values():
            each.close()

    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )


def script_json(value: object) -> str:
    """JSON safe to place inside a <script> element: a '</' in any string cannot end the element."""
    return json.dumps(value, default=str).replace("</", "<\\/")


def new_secret_key() -> str:
    return secrets.token_urlsafe(32)
