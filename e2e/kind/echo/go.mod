module portico.local/e2e/echo

go 1.24
