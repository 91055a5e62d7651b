// Package bearer reads the token of an "Authorization: Bearer <token>"
// header, as the owner API and the staff API both take their keys.
package bearer

import "strings"

// Token is the token of an Authorization header's value; ok is false when
// the header holds no Bearer token. HTTP's scheme names are
// case-insensitive, so "bearer" is one too.
func Token(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	return token, found && strings.EqualFold(scheme, "Bearer") && token != ""
}
