/* PLACEHOLDER */
#ifndef OWM_MESHCONF_H
#define OWM_MESHCONF_H
#endif
