/* PLACEHOLDER */
#ifndef OWM_MESHMSG_H
#define OWM_MESHMSG_H
#endif
