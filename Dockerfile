# Kehu in a container: `kehu serve` on port 8000 with its state in the /var/lib/kehu volume.
# Put an https proxy in front (deploy/nginx/kehu.conf): passkeys need a secure origin.
#   docker build -t kehu .
#   docker run -d --name kehu -p 127.0.0.1:8000:8000 -v kehu-data:/var/lib/kehu \
#     -e KEHU_ORIGIN=https://crm.example.com -e KEHU_TRUSTED_PROXIES=172.17.0.1 kehu
#   docker exec -it kehu kehu user add 王芳 --role admin
FROM python:3.11-slim-bookworm

# WeasyPrint's C libraries (Pango, HarfBuzz subsetting) and pg_dump for `kehu backup` on
# PostgreSQL. No system CJK font is needed: the weblate-fonts wheel ships Kurinto Sans SC.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --home-dir /var/lib/kehu --create-home --shell /usr/sbin/nologin kehu

# The checkout is the install (editable): templates, static files and catalogues are read
# from beside the code.
WORKDIR /opt/kehu
COPY pyproject.toml ./
COPY web web
COPY domain domain
COPY db db
COPY pdf pdf
COPY static static
COPY locale locale
RUN pip install --no-cache-dir --disable-pip-version-check -e '.[postgres]'

ENV PYTHONUNBUFFERED=1 \
    KEHU_DATABASE_URL=sqlite:////var/lib/kehu/kehu.db \
    XDG_CACHE_HOME=/var/lib/kehu/.cache
USER kehu
WORKDIR /var/lib/kehu
VOLUME /var/lib/kehu
EXPOSE 8000
# /healthz answers 503 when the database or the PDF font is missing.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["kehu", "serve", "--host", "0.0.0.0", "--port", "8000"]
