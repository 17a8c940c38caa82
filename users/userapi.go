package users

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/queries"
)

// userJSON is a user as the API shows it: never the password or its hash.
type userJSON struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Email     *string   `json:"email"`
	Role      string    `json:"role"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toJSON(u queries.User) userJSON {
	j := userJSON{ID: u.ID, Username: u.Username, Role: u.Role, Active: u.Active,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	if u.Email != "" {
		j.Email = &u.Email
	}
	return j
}

// NewUser is a user to create; nil fields were not given.
type NewUser struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
	Email    *string `json:"email"`
	Role     *string `json:"role"` // reader when not given
}

// CreateUser checks n (a 422 naming every invalid field), hashes the password and stores the user
// (409 when the username or email is taken).
func (s *Service) CreateUser(ctx context.Context, n NewUser) (queries.User, error) {
	var v validation
	username := v.required("username", n.Username, CheckUsername)
	password := v.required("password", n.Password, func(p string) string { return CheckPassword(p, username) })
	email := v.optional("email", n.Email, CheckEmail)
	role := string(RoleReader)
	if n.Role != nil {
		role = v.role(*n.Role)
	}
	if err := v.err(); err != nil {
		return queries.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return queries.User{}, err
	}
	u, err := s.store.CreateUser(ctx, queries.NewUser{Username: username, Email: email, Role: role, PasswordHash: hash})
	if err != nil {
		return queries.User{}, userError(err, username, email)
	}
	return u, nil
}

// SetPassword gives a user a new password (checked like any other) and revokes their sessions.
func (s *Service) SetPassword(ctx context.Context, id int64, password string) error {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	var v validation
	v.check("password", CheckPassword(password, u.Username))
	if err := v.err(); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateUser(ctx, id, queries.UserChange{PasswordHash: &hash})
	s.auth.forgetUser(id)
	return err
}

// createUser is POST /users.
func (s *Service) createUser(c *gin.Context) error {
	var req NewUser
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, err := s.CreateUser(c.Request.Context(), req)
	if err != nil {
		return err
	}
	c.Set(targetKey, u.Username)
	c.Header("Location", "/users/"+strconv.FormatInt(u.ID, 10))
	c.JSON(http.StatusCreated, toJSON(u))
	return nil
}

// getUser is GET /users/{id}.
func (s *Service) getUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	u, err := s.store.GetUser(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toJSON(u))
	return nil
}

// listUsers is GET /users?limit=&offset= (skip= is offset, as the original FastAPI service named it).
func (s *Service) listUsers(c *gin.Context) error {
	var v validation
	q := v.query(c, "limit", "offset", "skip")
	limit := v.number(q, "limit", 100, 1, 1000)
	offset := v.number(q, "offset", 0, 0, math32)
	if q.Has("skip") {
		skip := v.number(q, "skip", 0, 0, math32)
		if q.Has("offset") && skip != offset {
			v.add("skip", "is another name for offset; give one of them")
		}
		offset = skip
	}
	if err := v.err(); err != nil {
		return err
	}
	list, err := s.store.ListUsers(c.Request.Context(), limit, offset)
	if err != nil {
		return err
	}
	out := make([]userJSON, len(list))
	for i, u := range list {
		out[i] = toJSON(u)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// updateUser is PATCH /users/{id}: email, role, active, password.
func (s *Service) updateUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var req struct {
		Email    *string `json:"email"`
		Role     *string `json:"role"`
		Active   *bool   `json:"active"`
		Password *string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request.Context()
	old, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	c.Set(targetKey, old.Username)
	var v validation
	change := queries.UserChange{Email: req.Email, Active: req.Active}
	if req.Email != nil && *req.Email != "" {
		v.check("email", CheckEmail(*req.Email))
	}
	if req.Role != nil {
		role := v.role(*req.Role)
		change.Role = &role
	}
	if req.Password != nil {
		v.check("password", CheckPassword(*req.Password, old.Username))
	}
	if err := v.err(); err != nil {
		return err
	}
	if req.Password != nil {
		hash, err := s.hasher.Hash(ctx, *req.Password)
		if err != nil {
			return err
		}
		change.PasswordHash = &hash
	}
	u, err := s.store.UpdateUser(ctx, id, change)
	s.auth.forgetUser(id)
	if err != nil {
		return userError(err, old.Username, deref(req.Email))
	}
	c.JSON(http.StatusOK, toJSON(u))
	return nil
}

// deleteUser is DELETE /users/{id}.
func (s *Service) deleteUser(c *gin.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	if u, err := s.store.GetUser(ctx, id); err == nil {
		c.Set(targetKey, u.Username)
	}
	err = s.store.DeleteUser(ctx, id)
	s.auth.forgetUser(id)
	if err != nil {
		return userError(err, "", "")
	}
	c.Status(http.StatusNoContent)
	return nil
}

// meJSON is GET /users/me for a principal that is not a local user (OIDC, --auth none).
type meJSON struct {
	Username string `json:"username"`
	Role     Role   `json:"role"`
	Auth     string `json:"auth"`
}

// getMe is GET /users/me: the signed-in user.
func (s *Service) getMe(c *gin.Context) error {
	p := PrincipalOf(c)
	if p.UserID == 0 {
		c.JSON(http.StatusOK, meJSON{Username: p.Username, Role: p.Role, Auth: p.Method})
		return nil
	}
	u, err := s.store.GetUser(c.Request.Context(), p.UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toJSON(u))
	return nil
}

// changeOwnPassword is POST /users/me/password {current_password, new_password}. It signs the
// user out everywhere: every session token is revoked (device tokens stay).
func (s *Service) changeOwnPassword(c *gin.Context) error {
	p := PrincipalOf(c)
	if p.UserID == 0 {
		return httperr.New(http.StatusBadRequest, "bad_request", "%s is not a medimg user: the password is managed elsewhere", p.Username)
	}
	var req struct {
		Current *string `json:"current_password"`
		New     *string `json:"new_password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	c.Set(targetKey, p.Username)
	var v validation
	current := v.required("current_password", req.Current, func(string) string { return "" })
	newPassword := v.required("new_password", req.New, func(pw string) string { return CheckPassword(pw, p.Username) })
	if err := v.err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	if _, err := s.auth.signIn(ctx, p.Username, current, c.ClientIP()); err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return &httperr.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "the request has invalid fields",
				Fields: []httperr.FieldError{{Field: "current_password", Message: "is not the current password"}}, Cause: err}
		}
		return signInError(c, err)
	}
	if err := s.SetPassword(ctx, p.UserID, newPassword); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// userError maps a store error about a user to the client's view of it.
func userError(err error, username, email string) error {
	switch {
	case errors.Is(err, queries.ErrUsernameTaken):
		return &httperr.Error{Status: http.StatusConflict, Code: "conflict", Message: "username " + username + " is taken", Cause: err}
	case errors.Is(err, queries.ErrEmailTaken):
		return &httperr.Error{Status: http.StatusConflict, Code: "conflict", Message: "email " + email + " is taken", Cause: err}
	case errors.Is(err, queries.ErrLastAdmin):
		return &httperr.Error{Status: http.StatusConflict, Code: "last_admin",
			Message: "the last active admin cannot be deleted, deactivated or demoted; make another admin first", Cause: err}
	}
	return err
}

// userID is the :id of the path.
func userID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, httperr.New(http.StatusNotFound, "not_found", "no user %.64q", c.Param("id"))
	}
	return id, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
