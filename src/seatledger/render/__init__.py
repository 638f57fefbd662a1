"""Renderings of issued invoices for people: an HTML document (Jinja2) and the terminal (Rich).

Both read an ``InvoiceDocument`` from the service layer and compute nothing: every amount shown is
a settled amount of the invoice, so what is printed always reconciles with what was issued.
"""
