#!/usr/bin/env bash
# Test certificates made with openssl, in DIR (created):
#
#   tls-certs.sh DIR
#
#   ca.pem / ca.key              a private CA ("preflight test CA")
#   good.pem|key                 signed by the CA, SAN IP:127.0.0.1, IP:::1, DNS:localhost, valid 30 days
#   short.pem|key                the same, valid 1 day
#   expired.pem|key              the same names, valid 2020-01-01 … 2021-01-01
#   future.pem|key               the same names, valid from 2090-01-01
#   wrongsan.pem|key             signed by the CA, SAN DNS:app.example.test only
#   cnonly.pem|key               signed by the CA, CN=127.0.0.1 and no subjectAltName
#   self.pem|key                 self-signed, SAN IP:127.0.0.1, DNS:localhost
#   client.pem|key               a client certificate signed by the CA
#
# OpenSSL 3.0's `req -x509` cannot set a start date in the past: `openssl ca -startdate/-enddate` can.
set -euo pipefail
dir=${1:?DIR}
mkdir -p "$dir" && cd "$dir"
mkdir -p db && : >db/index.txt && echo 1000 >db/serial
cat >ca.cnf <<'CNF'
[ ca ]
default_ca = test
[ test ]
dir = .
database = ./db/index.txt
serial = ./db/serial
new_certs_dir = ./db
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
CNF
q() { "$@" >/dev/null 2>&1 || { echo "tls-certs.sh: $* failed" >&2; "$@"; exit 1; }; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 365 -subj "/CN=preflight test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
names="subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
# leaf NAME SUBJECT SAN-or-empty DATE-ARGS...
leaf() {
  local name=$1 subj=$2 san=$3; shift 3
  if [ -n "$san" ]; then
    q openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" -addext "$san"
  else
    q openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj"
  fi
  q openssl ca -batch -config ca.cnf -extensions leaf -cert ca.pem -keyfile ca.key -in "$name.csr" -out "$name.pem" -notext "$@"
}
leaf good "/CN=127.0.0.1" "$names" -days 30
leaf short "/CN=127.0.0.1" "$names" -days 1
leaf expired "/CN=127.0.0.1" "$names" -startdate 20200101000000Z -enddate 20210101000000Z
leaf future "/CN=127.0.0.1" "$names" -startdate 20900101000000Z -enddate 20910101000000Z
leaf wrongsan "/CN=app.example.test" "subjectAltName=DNS:app.example.test" -days 30
leaf cnonly "/CN=127.0.0.1" "" -days 30
leaf client "/CN=k6 client" "" -days 30
q openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 30 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
rm -f ./*.csr
