"""Server-rendered admin pages (Jinja2 + htmx): Members, Billing and printable invoices.

Mount them with ``app.include_router(web_router(runtime))``; ``demo_sign_in_link`` makes the link
``seatledger serve --demo`` prints.
"""

from seatledger.web.pages import WebSettings
from seatledger.web.router import demo_sign_in_link, sign_in_link, web_router
from seatledger.web.sessions import session_secret

__all__ = ["WebSettings", "demo_sign_in_link", "session_secret", "sign_in_link", "web_router"]
