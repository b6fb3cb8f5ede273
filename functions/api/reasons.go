package main

import (
	"context"
	"strconv"
)

// closingReasonsJSON is the list of closing reasons that applies (A5); empty: any reason.
type closingReasonsJSON struct {
	Reasons      []string `json:"reasons"`
	DepartmentID *string  `json:"department_id"` // the department whose own list it is; null: the organization's
}

type closingReasonsBody struct {
	Reasons []string `json:"reasons"`
}

// getClosingReasons serves GET /v1/closing-reasons: the list a conversation of department_id
// (or, without it, of the organization) is closed with.
func (a *api) getClosingReasons(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	for k := range q {
		if k != "department_id" {
			return nil, badRequest("unknown query parameter " + strconv.Quote(k))
		}
	}
	dept := q["department_id"]
	list, own, err := a.flow().ClosingReasons(ctx, c.user.OrgID, dept)
	if err != nil {
		return nil, err
	}
	out := closingReasonsJSON{Reasons: nonNil(list)}
	if own {
		out.DepartmentID = optional(dept)
	}
	return out, nil
}

// putClosingReasons serves PUT /v1/closing-reasons (the organization's list) and PUT
// /v1/departments/{id}/closing-reasons (a department's, instead of the organization's); an
// empty list removes it.
func (a *api) putClosingReasons(ctx context.Context, c *call) (any, error) {
	var body closingReasonsBody
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	dept := c.params["id"]
	list, err := a.flow().SetClosingReasons(ctx, c.caller(), dept, body.Reasons)
	if err != nil {
		return nil, err
	}
	out := closingReasonsJSON{Reasons: nonNil(list)}
	if dept != "" && len(list) > 0 {
		out.DepartmentID = optional(dept)
	}
	return out, nil
}
