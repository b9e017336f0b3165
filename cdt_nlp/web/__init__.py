"""The local web app (``cdt-nlp serve``): the page for billers and its JSON API."""
